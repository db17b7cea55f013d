package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/v2"
	yamlv3 "go.yaml.in/yaml/v3"
)

// document is the shape of the file: what the walker checks keys against and
// what koanf decodes into.
type document struct {
	Timezone        string                  `koanf:"timezone"`
	Currency        string                  `koanf:"currency"`
	Database        string                  `koanf:"database"`
	TemplatesDir    string                  `koanf:"templates_dir"`
	Agency          Agency                  `koanf:"agency"`
	Notify          Notify                  `koanf:"notify"`
	Alerts          Alerts                  `koanf:"alerts"`
	Schedule        Schedule                `koanf:"schedule"`
	Import          Import                  `koanf:"import"`
	HTTP            HTTP                    `koanf:"http"`
	Log             Log                     `koanf:"log"`
	ShutdownTimeout time.Duration           `koanf:"shutdown_timeout"`
	GoLive          string                  `koanf:"go_live"`
	Statements      Statements              `koanf:"statements"`
	Payments        Payments                `koanf:"payments"`
	Reminders       Reminders               `koanf:"reminders"`
	Exports         Exports                 `koanf:"exports"`
	Contracts       map[string]*contractDoc `koanf:"contracts"`
}

// contractDoc is one contract as written. Pointers tell "absent" from zero
// where the spec has a default or a requirement.
type contractDoc struct {
	Client               *string    `koanf:"client"`
	Tier                 string     `koanf:"tier"`
	Unit                 string     `koanf:"unit"`
	Contacts             []string   `koanf:"contacts"`
	Match                []string   `koanf:"match"`
	MonthlyHours         *decimal   `koanf:"monthly_hours"`
	MonthlyFee           *decimal   `koanf:"monthly_fee"`
	HourlyRate           *decimal   `koanf:"hourly_rate"`
	OverageRate          *decimal   `koanf:"overage_rate"`
	OverageBillable      *bool      `koanf:"overage_billable"`
	RolloverHours        bool       `koanf:"rollover_hours"`
	MaxRollover          *decimal   `koanf:"max_rollover"`
	RolloverExpiresAfter int        `koanf:"rollover_expires_after"`
	RoundingMinutes      int        `koanf:"rounding_minutes"`
	CountNonBillable     bool       `koanf:"count_non_billable"`
	PaymentTermsDays     *int       `koanf:"payment_terms_days"`
	AlertClientAt        int        `koanf:"alert_client_at"`
	Checkin              bool       `koanf:"checkin"`
	PortalEntries        bool       `koanf:"portal_entries"`
	OpeningBank          *decimal   `koanf:"opening_bank"`
	Start                string     `koanf:"start"`
	End                  string     `koanf:"end"`
	Terms                []termsDoc `koanf:"terms"`
	Currency             string     `koanf:"currency"`
	BillingName          string     `koanf:"billing_name"`
	BillingAddress       string     `koanf:"billing_address"`
	TaxID                string     `koanf:"tax_id"`
	TaxRate              *decimal   `koanf:"tax_rate"`
}

// termsDoc is one effective-dated change; only the keys it names change.
type termsDoc struct {
	From         *string  `koanf:"from"`
	MonthlyHours *decimal `koanf:"monthly_hours"`
	MonthlyFee   *decimal `koanf:"monthly_fee"`
	HourlyRate   *decimal `koanf:"hourly_rate"`
	OverageRate  *decimal `koanf:"overage_rate"`
}

// decimal is a number kept as the text it was written as ("5000", "162.5"),
// converted later by billing's exact parsers once the currency is known.
type decimal string

var (
	documentType = reflect.TypeOf(document{})
	decimalType  = reflect.TypeOf(decimal(""))
	durationType = reflect.TypeOf(time.Duration(0))
	secretType   = reflect.TypeOf(Secret(""))
)

func defaultDocument() document {
	return document{
		Notify: Notify{
			Email: Email{Port: DefaultSMTPPort, Timeout: DefaultTimeout},
		},
		Schedule:        DefaultSchedule(),
		Import:          Import{ReconcileMonths: DefaultReconcileMonths},
		ShutdownTimeout: DefaultTimeout,
	}
}

// fieldByTag finds the struct field whose koanf tag is key.
func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("koanf"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		if tag == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func isSecret(t reflect.Type) bool {
	return t == secretType || (t.Kind() == reflect.Slice && t.Elem() == secretType)
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// isSection reports whether t holds keys (a struct or the contracts map)
// rather than a value.
func isSection(t reflect.Type) bool {
	t = deref(t)
	return t.Kind() == reflect.Struct || t.Kind() == reflect.Map
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// envName is the variable that overrides a dotted key.
func envName(path string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "__"))
}

// walk checks one value of the file against type t: every key that names
// no setting is reported at its dotted path, and so is a secret given a
// value in the file. It returns the value without those keys, and false when
// the value has the wrong shape for a section (reported too).
func (l *loader) walk(path string, t reflect.Type, v any) (any, bool) {
	t = deref(t)
	if v == nil {
		return nil, true
	}
	switch {
	case t.Kind() == reflect.Struct:
		m, ok := l.mapping(path, v)
		if !ok {
			return nil, false
		}
		out := make(map[string]any, len(m))
		for _, k := range sortedKeys(m) {
			kp := joinPath(path, k)
			f, ok := fieldByTag(t, k)
			if !ok {
				l.add(kp, "unknown key")
				continue
			}
			if isSecret(f.Type) {
				if !isEmptyValue(m[k]) {
					l.add(kp, fmt.Sprintf("secrets come from the environment (%s) or %s_file", envName(kp), k))
					l.failed[kp] = true
				}
				continue
			}
			if cv, ok := l.walk(kp, f.Type, m[k]); ok {
				out[k] = cv
			}
		}
		return out, true
	case t.Kind() == reflect.Map:
		m, ok := l.mapping(path, v)
		if !ok {
			return nil, false
		}
		out := make(map[string]any, len(m))
		for _, k := range sortedKeys(m) {
			if cv, ok := l.walk(joinPath(path, k), t.Elem(), m[k]); ok {
				out[k] = cv
			}
		}
		return out, true
	case t.Kind() == reflect.Slice && isSection(t.Elem()):
		s, ok := v.([]any)
		if !ok {
			l.add(path, "must be a list, not "+describeValue(v))
			l.failed[path] = true
			return nil, false
		}
		out := make([]any, len(s))
		for i, e := range s {
			// A bad element stays as nil so later indexes keep their paths.
			out[i], _ = l.walk(fmt.Sprintf("%s[%d]", path, i), t.Elem(), e)
		}
		return out, true
	}
	return v, true
}

// mapping returns v as a mapping, or reports at path that it is not one.
func (l *loader) mapping(path string, v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		l.add(path, "must be a mapping of keys, not "+describeValue(v))
		l.failed[path] = true
	}
	return m, ok
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func isEmptyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	}
	return false
}

// envKey maps RETAINER_NOTIFY__EMAIL__HOST to notify.email.host for the env
// provider. A variable that names no setting is reported under its own name
// and dropped; RETAINER_CONFIG and RETAINER_TEST_* are not settings.
func (l *loader) envKey(name, value string) (string, any) {
	rest, ok := strings.CutPrefix(name, EnvPrefix)
	if !ok || rest == "CONFIG" || strings.HasPrefix(rest, "TEST_") {
		return "", nil
	}
	key := strings.ReplaceAll(strings.ToLower(rest), "__", ".")
	if msg := checkEnvKey(key); msg != "" {
		l.add(name, msg)
		return "", nil
	}
	l.envVars[key] = name
	return key, value
}

// checkEnvKey says what is wrong with a dotted key from the environment, or
// "" when it names a setting.
func checkEnvKey(key string) string {
	if key == "" {
		return "unknown setting (empty name)"
	}
	t := documentType
	for _, part := range strings.Split(key, ".") {
		t = deref(t)
		if part == "" {
			return "unknown setting " + key
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByTag(t, part)
			if !ok {
				return "unknown setting " + key
			}
			t = f.Type
		case reflect.Map:
			t = t.Elem()
		default:
			return "unknown setting " + key
		}
	}
	if isSection(t) {
		return fmt.Sprintf("unknown setting %s: it is a section; set its keys (%s__…)", key, envName(key))
	}
	return ""
}

// decoderConfig is strict where koanf's default is lenient: exact key names,
// unknown keys reported, and our own hook for every conversion (a custom
// DecoderConfig replaces koanf's, hooks and all).
func decoderConfig() *mapstructure.DecoderConfig {
	return &mapstructure.DecoderConfig{
		TagName:     "koanf",
		DecodeHook:  mapstructure.DecodeHookFuncValue(decodeHook),
		ErrorUnused: true,
		MatchName:   func(mapKey, fieldName string) bool { return mapKey == fieldName },
	}
}

// decode unmarshals the merged file and environment into a document with
// the defaults already in place, turning every decoding error into a
// FieldError at its dotted path.
//
// With cached set the contracts come built from the parse cache: they are
// not decoded.
func (l *loader) decode(k *koanf.Koanf, contracts map[string]any, cached bool) *document {
	doc := defaultDocument()
	err := k.UnmarshalWithConf("", &doc, koanf.UnmarshalConf{DecoderConfig: decoderConfig()})
	l.decodeErrors(err, func(name string) string { return name })
	// Implicit TLS listens on its own port: 465 unless one is given.
	if !k.Exists("notify.email.port") && strings.EqualFold(strings.TrimSpace(doc.Notify.Email.TLS), "implicit") {
		doc.Notify.Email.Port = DefaultSMTPSPort
	}

	if cached {
		return &doc
	}
	doc.Contracts = make(map[string]*contractDoc, len(contracts))
	for _, id := range sortedKeys(contracts) {
		c := &contractDoc{}
		dc := decoderConfig()
		dc.Result = c
		d, err := mapstructure.NewDecoder(dc)
		if err != nil {
			l.add("contracts."+id, err.Error())
			continue
		}
		prefix := "contracts." + id
		l.decodeErrors(d.Decode(contracts[id]), func(name string) string { return joinPath(prefix, name) })
		doc.Contracts[id] = c
	}
	return &doc
}

// decodeErrors flattens mapstructure's joined errors into FieldErrors.
func (l *loader) decodeErrors(err error, path func(string) string) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			l.decodeErrors(e, path)
		}
		return
	}
	de, ok := err.(*mapstructure.DecodeError)
	if !ok {
		// Decode wraps its joined errors once ("decoding failed due to…").
		if inner := errors.Unwrap(err); inner != nil {
			l.decodeErrors(inner, path)
			return
		}
		l.add("config", err.Error())
		return
	}
	inner := de.Unwrap()
	if _, ok := inner.(interface{ Unwrap() []error }); ok {
		l.decodeErrors(inner, path)
		return
	}
	if _, ok := inner.(*mapstructure.DecodeError); ok {
		l.decodeErrors(inner, path)
		return
	}
	p := path(de.Name())
	if keys, ok := strings.CutPrefix(inner.Error(), "has invalid keys: "); ok {
		for _, key := range strings.Split(keys, ", ") {
			l.add(joinPath(p, key), "unknown key")
		}
		return
	}
	msg := describeError(inner)
	if v := l.envVars[trimIndexes(p)]; v != "" {
		msg += " (from " + v + ")"
	}
	l.add(p, msg)
	l.failed[p] = true
}

func trimIndexes(p string) string {
	for strings.HasSuffix(p, "]") {
		i := strings.LastIndex(p, "[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return p
}

// describeError words mapstructure's own errors for a person editing YAML.
func describeError(err error) string {
	var ute *mapstructure.UnconvertibleTypeError
	if errors.As(err, &ute) {
		return "must be " + describeType(ute.Expected.Type()) + ", not " + describeValue(ute.Value)
	}
	var pe *mapstructure.ParseError
	if errors.As(err, &pe) {
		return "must be " + describeType(pe.Expected.Type())
	}
	return err.Error()
}

func describeType(t reflect.Type) string {
	t = deref(t)
	switch {
	case t == decimalType:
		return "a number"
	case t == durationType:
		return "a duration such as 30s"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a mapping of keys"
	}
	return t.String()
}

func describeValue(v any) string {
	switch v.(type) {
	case nil:
		return "empty"
	case bool:
		return "true/false"
	case string:
		return "a string"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return "a number"
	case time.Time:
		return "a date (quote it)"
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

// decodeHook converts every scalar strictly, whether it came from YAML
// (typed) or from the environment (always a string). It never puts the value
// of a Secret in an error.
func decodeHook(from, to reflect.Value) (any, error) {
	if !from.IsValid() {
		return nil, nil
	}
	v := from.Interface()
	tt := to.Type()
	switch {
	case tt.Kind() == reflect.Pointer || tt.Kind() == reflect.Interface:
		return v, nil // the pointed-to value comes through here again
	case tt == decimalType:
		return toDecimal(v)
	case tt == durationType:
		return toDuration(v)
	case tt == secretType:
		if s, ok := v.(string); ok {
			return Secret(s), nil
		}
		return nil, errors.New("must be a string")
	}
	switch tt.Kind() {
	case reflect.Bool:
		return toBool(v)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return toInt(v, tt.Bits())
	case reflect.String:
		return toString(v)
	case reflect.Slice:
		return toList(v, tt.Elem())
	case reflect.Struct, reflect.Map:
		if from.Kind() != reflect.Map {
			return nil, errors.New("must be a mapping of keys, not " + describeValue(v))
		}
	}
	return v, nil
}

func toDecimal(v any) (any, error) {
	switch x := v.(type) {
	case decimal:
		return x, nil
	case string:
		return decimal(strings.TrimSpace(x)), nil
	case int:
		return decimal(strconv.Itoa(x)), nil
	case int64:
		return decimal(strconv.FormatInt(x, 10)), nil
	case uint64:
		return decimal(strconv.FormatUint(x, 10)), nil
	case float64:
		return decimal(strconv.FormatFloat(x, 'f', -1, 64)), nil
	}
	return nil, errors.New("must be a number, not " + describeValue(v))
}

func toDuration(v any) (any, error) {
	if s, ok := v.(string); ok {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err == nil {
			return d, nil
		}
		return nil, fmt.Errorf("must be a duration such as 30s or 1m30s, not %q", s)
	}
	if d, ok := v.(time.Duration); ok {
		return d, nil
	}
	return nil, errors.New("must be a duration with a unit, such as 30s, not " + describeValue(v))
}

func toBool(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("must be true or false, not %q", x)
	}
	return nil, errors.New("must be true or false, not " + describeValue(v))
}

func toInt(v any, bits int) (any, error) {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case uint64:
		if x > math.MaxInt64 {
			return nil, errors.New("out of range")
		}
		n = int64(x)
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, fmt.Errorf("must be a whole number, not %s", strconv.FormatFloat(x, 'f', -1, 64))
		}
		if x > math.MaxInt64 || x < math.MinInt64 {
			return nil, errors.New("out of range")
		}
		n = int64(x)
	case string:
		p, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("must be a whole number, not %q", x)
		}
		n = p
	default:
		return nil, errors.New("must be a whole number, not " + describeValue(v))
	}
	if bits < 64 && (n > 1<<(bits-1)-1 || n < -(1<<(bits-1))) {
		return nil, errors.New("out of range")
	}
	return n, nil
}

func toString(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	return nil, errors.New("must be a string, not " + describeValue(v))
}

// toList accepts a list as is; from the environment it takes a YAML flow
// list ([90, 100]) or a comma-separated string (90,100). API tokens may also
// be one per line.
func toList(v any, elem reflect.Type) (any, error) {
	s, ok := v.(string)
	if !ok {
		if reflect.ValueOf(v).Kind() == reflect.Slice {
			return v, nil
		}
		return nil, errors.New("must be a list, not " + describeValue(v))
	}
	if elem == secretType {
		if t := strings.TrimSpace(s); strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			s = t[1 : len(t)-1]
		}
		var out []any
		for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' }) {
			line = strings.TrimSpace(line)
			if line != "" && !strings.HasPrefix(line, "#") {
				out = append(out, line)
			}
		}
		return out, nil
	}
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "[") {
		var out []any
		if err := yamlv3.Unmarshal([]byte(t), &out); err != nil {
			return nil, errors.New("must be a list such as [90, 100] or 90,100: " + strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return out, nil
	}
	out := []any{}
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out, nil
}
