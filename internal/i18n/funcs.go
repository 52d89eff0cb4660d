package i18n

import "time"

// TemplateFuncs are the template functions of the UI and the public pages
// (convert with template.FuncMap(i18n.TemplateFuncs())):
//
//	{{t .Lang "key" args…}}             T
//	{{label .Lang "consent_state" .X}}  Label
//	{{date .Lang .At}}                  Date (time.Time or *time.Time; nil is ""),
//	                                    or Day for a calendar day "YYYY-MM-DD"
//	{{dateLong .Lang "2026-12-02"}}     DayLong: the day with its weekday
//	{{datetime .Lang .At}}              DateTime (likewise)
//	{{num .Lang .N}}                    Number (any integer type)
//	{{money .Lang .Cents "EUR"}}        Money
func TemplateFuncs() map[string]any {
	return map[string]any{
		"t":        T,
		"label":    Label,
		"date":     func(lang string, v any) string { return onTime(lang, v, Date) },
		"dateLong": DayLong,
		"datetime": func(lang string, v any) string { return onTime(lang, v, DateTime) },
		"num":      func(lang string, v any) string { return Number(lang, toInt(v)) },
		"money":    func(lang string, cents any, currency string) string { return Money(lang, toInt(cents), currency) },
	}
}

func onTime(lang string, v any, f func(string, time.Time) string) string {
	switch t := v.(type) {
	case time.Time:
		return f(lang, t)
	case string:
		return Day(lang, t)
	case *time.Time:
		if t == nil {
			return ""
		}
		return f(lang, *t)
	}
	return ""
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case int32:
		return int64(n)
	case uint:
		return int64(n)
	case uint32:
		return int64(n)
	case uint64:
		return int64(n)
	case *int64:
		if n != nil {
			return *n
		}
	case *int:
		if n != nil {
			return int64(*n)
		}
	}
	return 0
}
