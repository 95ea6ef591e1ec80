package config

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
)

// decoder is a type that reads its own value from a variable's text.
type decoder interface{ Decode(string) error }

// process fills spec, a pointer to a struct, from the variables
// PREFIX_FIELD. It reads the struct tags of github.com/kelseyhightower/envconfig
// (split_words, ignored, envconfig, default, required) with the same
// meaning, so the structs above document their variables the usual way,
// but it compiles no regular expression (envconfig compiles two at init and
// runs them on every field, which every `sidecar token` paid for) and
// knows only the field types this package uses.
func process(prefix string, spec any) error {
	if errs := processAll(prefix, spec); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// processAll is process going on after an invalid variable: one error for
// each, in field order.
func processAll(prefix string, spec any) []error {
	var errs []error
	s := reflect.ValueOf(spec).Elem()
	t := s.Type()
	for i := range t.NumField() {
		ft := t.Field(i)
		f := s.Field(i)
		if !f.CanSet() || isTrue(ft.Tag.Get("ignored")) {
			continue
		}
		key, alt := ft.Name, strings.ToUpper(ft.Tag.Get("envconfig"))
		if isTrue(ft.Tag.Get("split_words")) {
			key = splitWords(ft.Name)
		}
		if alt != "" {
			key = alt
		}
		if prefix != "" {
			key = prefix + "_" + key
		}
		key = strings.ToUpper(key)
		value, ok := os.LookupEnv(key)
		if !ok && alt != "" {
			value, ok = os.LookupEnv(alt)
		}
		def := ft.Tag.Get("default")
		if !ok && def != "" {
			value, ok = def, true
		}
		if !ok {
			if isTrue(ft.Tag.Get("required")) {
				errs = append(errs, &Error{Msg: fmt.Sprintf("required key %s missing value", key)})
			}
			continue
		}
		if err := setField(f, value); err != nil {
			want := err.Error()
			if _, ok := err.(*strconv.NumError); ok {
				want = "want " + f.Type().String()
			}
			errs = append(errs, errf(key, "invalid value %q: %s", value, want))
		}
	}
	return errs
}

func setField(f reflect.Value, value string) error {
	if d, ok := f.Addr().Interface().(decoder); ok {
		return d.Decode(value)
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(value)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(value, 0, f.Type().Bits())
		if err != nil {
			return err
		}
		f.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported type %s", f.Type())
		}
		var list []string
		if strings.TrimSpace(value) != "" {
			list = strings.Split(value, ",")
		}
		f.Set(reflect.ValueOf(list).Convert(f.Type()))
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

func isTrue(s string) bool {
	b, _ := strconv.ParseBool(s)
	return b
}

// splitWords turns a field name into its variable name the way envconfig's
// split_words does: runs of capitals are words, a capital starts a word,
// and the last capital of a run followed by small letters starts the next
// one (ClientID → Client_ID, HTTPTimeout → HTTP_Timeout, ApiURL → Api_URL).
func splitWords(name string) string {
	upper := func(c byte) bool { return 'A' <= c && c <= 'Z' }
	var words []string
	for i := 0; i < len(name); {
		j := i
		if !upper(name[i]) {
			for j < len(name) && !upper(name[j]) {
				j++
			}
		} else {
			for j < len(name) && upper(name[j]) {
				j++
			}
			k := j
			for k < len(name) && !upper(name[k]) {
				k++
			}
			if k > j {
				if j-i >= 2 {
					words = append(words, name[i:j-1])
					i = j - 1
				}
				j = k
			}
		}
		words = append(words, name[i:j])
		i = j
	}
	return strings.Join(words, "_")
}
