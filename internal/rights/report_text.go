package rights

import "github.com/consento/consento/internal/i18n"

// RightsText is the text of the person's rights (GDPR Art. 15(1)(e)–(h),
// 16–22, 77) in their language: catalogue keys report.rights.1 to 4.
func RightsText(lang string) []string {
	return []string{
		i18n.T(lang, "report.rights.1"),
		i18n.T(lang, "report.rights.2"),
		i18n.T(lang, "report.rights.3"),
		i18n.T(lang, "report.rights.4"),
	}
}

// Label is a report heading in lang (English when unknown): catalogue key
// report.<key>.
func Label(lang, key string) string {
	return i18n.T(lang, "report."+key)
}
