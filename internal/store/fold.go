package store

import (
	"database/sql/driver"
	"strings"
	"sync"

	"modernc.org/sqlite"
)

var registerFold sync.Once

// registerSQLiteFunctions adds casefold(), a Unicode-aware lower(): SQLite's
// own lower() folds ASCII letters only, so "østerg" would not find
// "Østergaard".
func registerSQLiteFunctions() {
	registerFold.Do(func() {
		_ = sqlite.RegisterDeterministicScalarFunction("casefold", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return strings.ToLower(v), nil
			case []byte:
				return strings.ToLower(string(v)), nil
			}
			return args[0], nil
		})
	})
}

// Fold returns SQL that lower-cases expr with Unicode case rules on either
// engine, compared in code point order (so that a prefix is a range);
// compare it with strings.ToLower of the searched text. The indexes on
// names are on exactly these expressions.
func (db *DB) Fold(expr string) string {
	if db.Dialect == Postgres {
		return "(lower(" + expr + `) COLLATE "C")`
	}
	return "casefold(" + expr + ")"
}
