package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// RawRows runs a read query on PostgreSQL through pgx's own interface and
// hands fn each row's values as the wire sends them in binary format
// (integers big-endian, text and bytea as their bytes, NULL as nil). It
// skips database/sql's per-value conversion, which dominates long scans
// (audit verification, the bulk check's snapshot). The slices are valid
// only during the call.
func (db *DB) RawRows(ctx context.Context, query string, args []any, fn func(vals [][]byte) error) error {
	if db.Dialect != Postgres {
		return errors.New("store: RawRows is for PostgreSQL")
	}
	conn, err := db.read.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: unexpected driver connection %T", dc)
		}
		rows, err := sc.Conn().Query(ctx, db.Q(query), append([]any{pgx.QueryResultFormats{pgx.BinaryFormatCode}}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows.RawValues()); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// RawInt decodes a binary int8 value from RawRows; ok is false for NULL.
func RawInt(v []byte) (n int64, ok bool) {
	if v == nil {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(v)), true
}
