package pages

import (
	"reflect"
	"regexp"
	"slices"
	"testing"
)

var verb = regexp.MustCompile(`%[a-z]`)

// TestTexts: every language has every string, with the verbs English has,
// and the switcher lists every language.
func TestTexts(t *testing.T) {
	en := reflect.ValueOf(english)
	for tag, tx := range texts {
		v := reflect.ValueOf(*tx)
		for i := range v.NumField() {
			name, s := v.Type().Field(i).Name, v.Field(i).String()
			if s == "" {
				t.Errorf("%s: %s is empty", tag, name)
			}
			if got, want := verb.FindAllString(s, -1), verb.FindAllString(en.Field(i).String(), -1); !slices.Equal(got, want) {
				t.Errorf("%s: %s has verbs %v, English %v", tag, name, got, want)
			}
		}
		if !slices.ContainsFunc(languages, func(l struct{ tag, name string }) bool { return l.tag == tag }) {
			t.Errorf("%s is not in the language switcher", tag)
		}
	}
}
