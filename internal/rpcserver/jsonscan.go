package rpcserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// A request's JSON is checked whole by json.Valid before it is taken
// apart, so the scanner below walks bytes that are known to be valid JSON:
// it needs no error handling beyond "this is not the expected type", and
// it copies nothing. The members and elements it hands out are slices of
// the request's body, so that a body of many small members (an object of a
// million "a":1) costs no more memory than the body itself; a decoder that
// copied each value cost 70 times the body's size.

// isJSONSpace reports whether c is JSON whitespace.
func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the index of the first non-whitespace byte of b at or
// after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isJSONSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index just past the JSON string that starts at
// b[i] (a '"').
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the JSON value that starts at
// b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	default: // a number, true, false or null
		for i < len(b) && !isJSONSpace(b[i]) && b[i] != ',' && b[i] != '}' && b[i] != ']' {
			i++
		}
		return i
	}
}

var errNotObject, errNotArray = errors.New("not an object"), errors.New("not an array")

// eachMember calls f with the key and value of each member of the JSON
// object raw, in order, until f returns false. raw must be valid JSON. The
// key is read as encoding/json reads it; both are slices of raw unless the
// key has escapes or invalid UTF-8.
func eachMember(raw []byte, f func(key []byte, val json.RawMessage) bool) error {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '{' {
		return errNotObject
	}
	i = skipSpace(raw, i+1)
	for i < len(raw) && raw[i] == '"' {
		end := skipString(raw, i)
		key := raw[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 || !utf8.Valid(key) {
			// As encoding/json reads it: escapes undone, invalid UTF-8
			// replaced with U+FFFD.
			var s string
			_ = json.Unmarshal(raw[i:end], &s) // valid JSON: cannot fail
			key = []byte(s)
		}
		i = skipSpace(raw, end)
		i = skipSpace(raw, i+1) // the colon
		end = skipValue(raw, i)
		if !f(key, raw[i:end:end]) {
			return nil
		}
		i = skipSpace(raw, end)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return nil
}

// eachElement calls f with each element of the JSON array raw, in order,
// until f returns false. raw must be valid JSON; the elements are slices
// of it.
func eachElement(raw []byte, f func(val json.RawMessage) bool) error {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '[' {
		return errNotArray
	}
	i = skipSpace(raw, i+1)
	for i < len(raw) && raw[i] != ']' {
		end := skipValue(raw, i)
		if !f(raw[i:end:end]) {
			return nil
		}
		i = skipSpace(raw, end)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return nil
}

// decodeObject returns the members of the JSON object raw, in order,
// stopping with errTooMany after limit members (limit < 0: no limit). raw
// must be valid JSON.
func decodeObject(raw []byte, limit int) ([]member, error) {
	var ms []member
	tooMany := false
	err := eachMember(raw, func(key []byte, val json.RawMessage) bool {
		if limit >= 0 && len(ms) == limit {
			tooMany = true
			return false
		}
		ms = append(ms, member{string(key), val})
		return true
	})
	switch {
	case err != nil:
		return nil, err
	case tooMany:
		return ms, errTooMany
	}
	return ms, nil
}

// decodeArray returns the elements of the JSON array raw, stopping with
// errTooMany after limit elements. raw must be valid JSON.
func decodeArray(raw []byte, limit int) ([]json.RawMessage, error) {
	var vs []json.RawMessage
	tooMany := false
	err := eachElement(raw, func(val json.RawMessage) bool {
		if len(vs) == limit {
			tooMany = true
			return false
		}
		vs = append(vs, val)
		return true
	})
	switch {
	case err != nil:
		return nil, err
	case tooMany:
		return vs, errTooMany
	}
	return vs, nil
}

var errTooMany = errors.New("too many elements")
