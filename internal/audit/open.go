package audit

import (
	"encoding/json"
	"fmt"
)

// OpenPayload decodes a stored payload, opening it with the person's key
// when sealed. It returns nil, nil when the key has been destroyed.
func OpenPayload(seq int64, raw, key []byte, sealed bool) (*Payload, error) {
	if sealed {
		if len(key) == 0 {
			return nil, nil
		}
		var err error
		if raw, err = open(key, seq, raw); err != nil {
			return nil, fmt.Errorf("audit: open event %d: %w", seq, err)
		}
	}
	var p Payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("audit: decode event %d: %w", seq, err)
	}
	return &p, nil
}
