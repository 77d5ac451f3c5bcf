package rpcserver

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// argKind is a parameter's type, as Core's RPCArg::Type.
type argKind int

const (
	kindStr    argKind = iota // STR: a JSON string
	kindHex                   // STR_HEX: a JSON string, its hex checked by the method
	kindNum                   // NUM: a JSON number
	kindBool                  // BOOL: true or false
	kindAmount                // AMOUNT: a number or a numeric string, checked by the method
)

// jsonTypeName is the UniValue type name a kind expects, "" for any.
func (k argKind) jsonTypeName() string {
	switch k {
	case kindStr, kindHex:
		return "string"
	case kindNum:
		return "number"
	case kindBool:
		return "bool"
	default:
		return ""
	}
}

// helpName is the type as Core's help shows it.
func (k argKind) helpName() string {
	switch k {
	case kindStr, kindHex:
		return "string"
	case kindNum:
		return "numeric"
	case kindBool:
		return "boolean"
	default:
		return "numeric or string"
	}
}

// argSpec is one parameter of a method.
type argSpec struct {
	name     string
	kind     argKind
	required bool
	def      string // for help: the default of an optional parameter
	help     string
}

// callArgs are a call's parameters, positional, after the named ones are
// put in their places; a missing one is nil.
type callArgs []json.RawMessage

// has reports whether parameter i was given and is not null.
func (a callArgs) has(i int) bool { return i < len(a) && !isNull(a[i]) }

// str is string parameter i (type-checked, so a string), "" if absent.
func (a callArgs) str(i int) string {
	var s string
	if a.has(i) {
		_ = json.Unmarshal(a[i], &s)
	}
	return s
}

// boolean is boolean parameter i, or def if absent.
func (a callArgs) boolean(i int, def bool) bool {
	if !a.has(i) {
		return def
	}
	return a[i][0] == 't'
}

// int64 is integer parameter i. A number that is no int64 is Core's
// UniValue::getInt error: -1 "JSON integer out of range".
func (a callArgs) int64(i int) (int64, error) {
	n, err := strconv.ParseInt(string(a[i]), 10, 64)
	if err != nil {
		return 0, NewError(CodeMisc, "JSON integer out of range")
	}
	return n, nil
}

// amount checks an AMOUNT parameter as Core's AmountFromValue: a number or
// a numeric string, not negative, at most 21 million. allowBool also takes
// true/false, which clients of Core before 0.19 send in sendrawtransaction's
// second place (allowhighfees), btcd's rpcclient among them.
func (a callArgs) amount(i int, allowBool bool) error {
	if !a.has(i) {
		return nil
	}
	v := a[i]
	var text string
	switch jsonType(v) {
	case "number":
		text = string(v)
	case "string":
		_ = json.Unmarshal(v, &text)
	case "bool":
		if allowBool {
			return nil
		}
		return NewError(CodeType, "Amount is not a number or string")
	default:
		return NewError(CodeType, "Amount is not a number or string")
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return NewError(CodeType, "Invalid amount")
	}
	if f < 0 || f > 21e6 {
		return NewError(CodeType, "Amount out of range")
	}
	return nil
}

// bind turns a request's params into the method's positional parameters
// and checks them as Core's RPCHelpMan does: the named ones by name
// (transformNamedArguments), then their count (a wrong count is -1 with the
// help as message), then their JSON types (-3 "Wrong type passed").
func (m *method) bind(s *Server, params json.RawMessage) (callArgs, *Error) {
	var args callArgs
	switch jsonType(params) {
	case "null":
	case "array":
		vs, err := decodeArray(params, len(m.args))
		if err != nil {
			return nil, NewError(CodeMisc, "%s", m.helpText(s.exampleURL))
		}
		args = vs
	case "object":
		var e *Error
		if args, e = m.named(params); e != nil {
			return nil, e
		}
	}
	if len(args) < m.requiredCount() || len(args) > len(m.args) {
		return nil, NewError(CodeMisc, "%s", m.helpText(s.exampleURL))
	}
	var mismatches []string
	for i, v := range args {
		spec := m.args[i]
		want := spec.kind.jsonTypeName()
		if want == "" || (isNull(v) && !spec.required) {
			continue
		}
		if got := jsonType(v); got != want {
			key, _ := marshalJSON(fmt.Sprintf("Position %d (%s)", i+1, spec.name))
			val, _ := marshalJSON(fmt.Sprintf("JSON value of type %s is not of expected type %s", got, want))
			mismatches = append(mismatches, fmt.Sprintf("    %s: %s", key, val))
		}
	}
	if len(mismatches) > 0 {
		return nil, NewError(CodeType, "Wrong type passed:\n{\n%s\n}", strings.Join(mismatches, ",\n"))
	}
	return args, nil
}

// requiredCount is how many parameters must be given: up to the last
// required one (Core's IsValidNumArgs).
func (m *method) requiredCount() int {
	for n := len(m.args); n > 0; n-- {
		if m.args[n-1].required {
			return n
		}
	}
	return 0
}

// named puts named parameters in their places, as Core's
// transformNamedArguments: holes before a given parameter are null, an
// "args" member holds leading positional ones, and an unknown or repeated
// name is -8.
func (m *method) named(params json.RawMessage) (callArgs, *Error) {
	// A request may name each parameter once, plus "args".
	ms, err := decodeObject(params, len(m.args)+1)
	if err != nil && len(ms) == 0 {
		return nil, NewError(CodeInvalidParameter, "Invalid named parameters")
	}
	index := make(map[string]int, len(m.args))
	for i, a := range m.args {
		index[a.name] = i
	}
	seen := make(map[string]bool, len(ms))
	var positional []json.RawMessage
	var out callArgs
	for _, mb := range ms {
		if seen[mb.key] {
			return nil, NewError(CodeInvalidParameter, "Parameter %s specified multiple times", mb.key)
		}
		seen[mb.key] = true
		if i, ok := index[mb.key]; ok {
			for len(out) <= i {
				out = append(out, nil)
			}
			out[i] = mb.val
			continue
		}
		if mb.key == "args" {
			if jsonType(mb.val) != "array" {
				return nil, NewError(CodeInvalidParameter, "Parameter args must be an array of positional parameters")
			}
			vs, err := decodeArray(mb.val, len(m.args))
			if err != nil && len(vs) == 0 {
				return nil, NewError(CodeInvalidParameter, "Parameter args must be an array of positional parameters")
			}
			positional = vs
			if err != nil {
				positional = append(positional, nil) // one too many: the count check fails
			}
			continue
		}
		return nil, NewError(CodeInvalidParameter, "Unknown named parameter %s", mb.key)
	}
	if err != nil { // more members than the method has names: one is unknown
		return nil, NewError(CodeInvalidParameter, "Too many named parameters for %s", m.name)
	}
	for i, v := range positional {
		if i < len(out) && out[i] != nil {
			return nil, NewError(CodeInvalidParameter, "Parameter %s specified twice both as positional and named argument", m.args[i].name)
		}
		if i >= len(out) {
			out = append(out, v)
		} else {
			out[i] = v
		}
	}
	return out, nil
}
