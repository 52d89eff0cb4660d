package mail

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"github.com/consento/consento/internal/store"
)

// Attachment is a file sent with a mail.
type Attachment struct {
	Name      string // file name shown to the recipient, e.g. "report.pdf"
	MediaType string // e.g. "application/pdf"
	Content   []byte
}

// MaxAttachmentBytes is the most the attachments of one mail may hold
// together: larger mails are refused by many receiving servers.
const MaxAttachmentBytes = 10 << 20

// ErrAttachmentTooLarge means a mail's attachments exceed MaxAttachmentBytes.
var ErrAttachmentTooLarge = errors.New("mail: the attachments of one mail may hold at most 10 MB together")

// ErrAttachmentBatch means attachments were given to a batch or mailing,
// which queue only plain mails; Enqueue takes them.
var ErrAttachmentBatch = errors.New("mail: attachments can only be sent with a single mail (Enqueue)")

// AttachmentError says why an attachment was refused.
type AttachmentError struct{ Name, Reason string }

func (e *AttachmentError) Error() string {
	return fmt.Sprintf("mail: attachment %q: %s", e.Name, e.Reason)
}

// checkAttachments refuses attachments that could not be sent as they are.
func checkAttachments(as []Attachment) error {
	total := 0
	for _, a := range as {
		switch {
		case strings.TrimSpace(a.Name) == "" || len(a.Name) > 255 || !utf8.ValidString(a.Name):
			return &AttachmentError{a.Name, "the file name must be 1 to 255 bytes of UTF-8"}
		case strings.ContainsAny(a.Name, "/\\\"") || strings.IndexFunc(a.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
			return &AttachmentError{a.Name, "the file name may not contain slashes, quotes or control characters"}
		}
		if mt, _, err := mime.ParseMediaType(a.MediaType); err != nil || !strings.Contains(mt, "/") {
			return &AttachmentError{a.Name, "the media type is not valid"}
		}
		total += len(a.Content)
	}
	if total > MaxAttachmentBytes {
		return ErrAttachmentTooLarge
	}
	return nil
}

// insertAttachments stores a mail's attachments in the outbox.
func insertAttachments(tx *store.Tx, mailID int64, as []Attachment) error {
	for i, a := range as {
		if _, err := tx.Exec(`INSERT INTO mail_attachments (mail_id, position, filename, media_type, content, size) VALUES (?, ?, ?, ?, ?, ?)`,
			mailID, i+1, a.Name, a.MediaType, a.Content, len(a.Content)); err != nil {
			return fmt.Errorf("mail: attachment: %w", err)
		}
	}
	return nil
}

// AttachmentInfo describes an attachment of an outbox mail, without its
// content.
type AttachmentInfo struct {
	Position  int
	Name      string
	MediaType string
	Size      int64
}

// Attachments lists the attachments of an outbox mail in their order.
func Attachments(ctx context.Context, db *store.DB, mailID int64) ([]AttachmentInfo, error) {
	rows, err := db.Query(ctx, `SELECT position, filename, media_type, size FROM mail_attachments WHERE mail_id = ? ORDER BY position`, mailID)
	if err != nil {
		return nil, fmt.Errorf("mail: attachments: %w", err)
	}
	defer rows.Close()
	var out []AttachmentInfo
	for rows.Next() {
		var a AttachmentInfo
		if err := rows.Scan(&a.Position, &a.Name, &a.MediaType, &a.Size); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AttachmentContent returns one attachment of an outbox mail, by position
// (from 1); ErrNotFound when there is none.
func AttachmentContent(ctx context.Context, db *store.DB, mailID int64, position int) (*Attachment, error) {
	var a Attachment
	err := db.QueryRow(ctx, `SELECT filename, media_type, content FROM mail_attachments WHERE mail_id = ? AND position = ?`, mailID, position).Scan(&a.Name, &a.MediaType, &a.Content)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("mail: attachment: %w", err)
	}
	return &a, nil
}

// loadAttachments fills in the attachments of claimed mails.
func loadAttachments(tx *store.Tx, batch []Outgoing) error {
	if len(batch) == 0 {
		return nil
	}
	ids := make([]any, len(batch))
	at := make(map[int64]int, len(batch))
	for i, o := range batch {
		ids[i], at[o.ID] = o.ID, i
	}
	rows, err := tx.Query(`SELECT mail_id, filename, media_type, content FROM mail_attachments WHERE mail_id IN (`+store.Placeholders(len(ids))+`) ORDER BY mail_id, position`, ids...)
	if err != nil {
		return fmt.Errorf("mail: load attachments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var a Attachment
		if err := rows.Scan(&id, &a.Name, &a.MediaType, &a.Content); err != nil {
			return err
		}
		batch[at[id]].Attachments = append(batch[at[id]].Attachments, a)
	}
	return rows.Err()
}

// attach adds the attachments to a MIME message.
func attach(m *gomail.Msg, as []Attachment) {
	for _, a := range as {
		m.AttachReadSeeker(a.Name, bytes.NewReader(a.Content), gomail.WithFileContentType(gomail.ContentType(a.MediaType)))
	}
}

// listAttachments fills in the attachments of listed mails.
func listAttachments(ctx context.Context, db *store.DB, es []Entry) error {
	if len(es) == 0 {
		return nil
	}
	ids := make([]any, len(es))
	at := make(map[int64]int, len(es))
	for i, e := range es {
		ids[i], at[e.ID] = e.ID, i
	}
	rows, err := db.Query(ctx, `SELECT mail_id, position, filename, media_type, size FROM mail_attachments WHERE mail_id IN (`+store.Placeholders(len(ids))+`) ORDER BY mail_id, position`, ids...)
	if err != nil {
		return fmt.Errorf("mail: attachments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var a AttachmentInfo
		if err := rows.Scan(&id, &a.Position, &a.Name, &a.MediaType, &a.Size); err != nil {
			return err
		}
		es[at[id]].Attachments = append(es[at[id]].Attachments, a)
	}
	return rows.Err()
}
