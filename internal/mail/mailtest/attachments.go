package mailtest

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
)

// File is a file attached to a received message, as a mail program sees
// it: its name from Content-Disposition, its media type and its decoded
// content.
type File struct {
	Name, Type string
	Content    []byte
}

// Attachments parses a raw message and returns the parts marked
// Content-Disposition: attachment, in order.
func (r Received) Attachments() ([]File, error) {
	m, err := mail.ReadMessage(bytes.NewReader(r.Raw))
	if err != nil {
		return nil, err
	}
	var out []File
	err = walk(textproto.MIMEHeader(m.Header), m.Body, &out)
	return out, err
}

func walk(h textproto.MIMEHeader, body io.Reader, out *[]File) error {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walk(p.Header, p, out); err != nil {
				return err
			}
		}
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	if disp != "attachment" {
		return nil
	}
	b, err := io.ReadAll(decode(h.Get("Content-Transfer-Encoding"), body))
	if err != nil {
		return err
	}
	*out = append(*out, File{Name: dparams["filename"], Type: mt, Content: b})
	return nil
}
