package api

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/input"
	"github.com/consento/consento/internal/ledger"
)

// badText finds the first string in a decoded request body that a database
// cannot store: encoding/json turns invalid UTF-8 into U+FFFD, but lets
// "\u0000" through, which PostgreSQL refuses. It names the field as the
// client wrote it (address.city, emails[1], custom.note).
func badText(v any) *ledger.FieldError {
	return walkText(reflect.ValueOf(v), "")
}

func walkText(v reflect.Value, path string) *ledger.FieldError {
	switch v.Kind() {
	case reflect.String:
		if err := input.Text(v.String()); err != nil {
			return &ledger.FieldError{Field: path, Message: err.Error()}
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return walkText(v.Elem(), path)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if f.Anonymous && f.Tag.Get("json") == "" {
				name = "" // embedded: its fields are the parent's
			}
			if fe := walkText(v.Field(i), join(path, name)); fe != nil {
				return fe
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // []byte is base64 in JSON: binary content
		}
		for i := 0; i < v.Len(); i++ {
			if fe := walkText(v.Index(i), path+"["+strconv.Itoa(i)+"]"); fe != nil {
				return fe
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := it.Key()
			key := ""
			if k.Kind() == reflect.String {
				key = k.String()
				if err := input.Text(key); err != nil {
					return &ledger.FieldError{Field: path, Message: "a key " + err.Error()}
				}
			}
			if fe := walkText(it.Value(), join(path, key)); fe != nil {
				return fe
			}
		}
	}
	return nil
}

func join(path, name string) string {
	switch {
	case path == "":
		return name
	case name == "":
		return path
	}
	return path + "." + name
}
