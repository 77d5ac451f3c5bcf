package rpcserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// MaxJSONDepth is how deeply a request's JSON may nest arrays and objects:
// a batch of requests whose params hold an array is 3 levels.
const MaxJSONDepth = 32

// jsonVersion is the JSON-RPC version of a request, as Core tells them
// apart: "jsonrpc":"2.0" is 2.0, no "jsonrpc" (or "1.0") is legacy 1.0.
type jsonVersion int

const (
	v1 jsonVersion = iota // legacy JSON-RPC 1.0/1.1
	v2                    // JSON-RPC 2.0
)

// request is a parsed request object.
type request struct {
	version jsonVersion
	id      json.RawMessage // nil when the request has no "id"
	method  string
	params  json.RawMessage // nil when absent or null
}

// notification reports whether req gets no reply: a JSON-RPC 2.0 request
// without an "id" (Core's JSONRPCRequest::IsNotification).
func (req *request) notification() bool { return req.version == v2 && req.id == nil }

// member is one member of a JSON object, in order.
type member struct {
	key string
	val json.RawMessage
}

// jsonType names the type of the JSON value raw as UniValue does (Core's
// uvTypeName): null, bool, object, array, string, number.
func jsonType(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	switch raw[0] {
	case 'n':
		return "null"
	case 't', 'f':
		return "bool"
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	default:
		return "number"
	}
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || raw[0] == 'n' }

// depthWithin reports whether the arrays and objects of the JSON text b
// nest at most max levels. It only scans bytes, so it runs before anything
// is decoded; b need not be valid JSON.
func depthWithin(b []byte, max int) bool {
	depth := 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
			if depth > max {
				return false
			}
		case ']', '}':
			depth--
		}
	}
	return true
}

// trimJSONSpace trims JSON's whitespace (space, tab, CR, LF) from b.
func trimJSONSpace(b []byte) []byte {
	return bytes.Trim(b, " \t\r\n")
}

// requestKeys are the members of a request object that parseRequest reads.
var requestKeys = [...]string{"id", "jsonrpc", "method", "params"}

// parseRequest parses one request object as Core's JSONRPCRequest::parse
// does, in the same order, so that an error carries the id and version
// found before it. Envelope errors are all -32600.
func parseRequest(raw json.RawMessage) (request, *Error) {
	var req request
	if jsonType(raw) != "object" {
		return req, NewError(CodeInvalidRequest, "Invalid Request object")
	}
	// The first of repeated members counts, as UniValue's find_value.
	// Only the members that matter are kept: the others, however many,
	// cost nothing.
	var members [len(requestKeys)]json.RawMessage // nil when absent
	err := eachMember(raw, func(key []byte, val json.RawMessage) bool {
		for i, k := range requestKeys {
			if string(key) == k && members[i] == nil {
				members[i] = val
			}
		}
		return true
	})
	if err != nil {
		return req, NewError(CodeInvalidRequest, "Invalid Request object")
	}
	get := func(key string) (json.RawMessage, bool) {
		for i, k := range requestKeys {
			if k == key {
				return members[i], members[i] != nil
			}
		}
		return nil, false
	}
	if id, ok := get("id"); ok {
		var b bytes.Buffer
		if err := json.Compact(&b, id); err != nil {
			return req, NewError(CodeInvalidRequest, "Invalid Request object")
		}
		req.id = b.Bytes()
	}
	if v, ok := get("jsonrpc"); ok && !isNull(v) {
		if jsonType(v) != "string" {
			return req, NewError(CodeInvalidRequest, "jsonrpc field must be a string")
		}
		var s string
		_ = json.Unmarshal(v, &s)
		switch s {
		case "1.0":
			req.version = v1
		case "2.0":
			req.version = v2
		default:
			return req, NewError(CodeInvalidRequest, "JSON-RPC version not supported")
		}
	}
	m, ok := get("method")
	if !ok || isNull(m) {
		return req, NewError(CodeInvalidRequest, "Missing method")
	}
	if jsonType(m) != "string" {
		return req, NewError(CodeInvalidRequest, "Method must be a string")
	}
	if err := json.Unmarshal(m, &req.method); err != nil {
		return req, NewError(CodeInvalidRequest, "Method must be a string")
	}
	if p, ok := get("params"); ok && !isNull(p) {
		if t := jsonType(p); t != "array" && t != "object" {
			return req, NewError(CodeInvalidRequest, "Params must be an array or object")
		}
		req.params = p
	}
	return req, nil
}

// appendReply appends the reply to a request of version ver with the id
// (nil: null) and either result (nil: null) or rerr, in Core's shape:
//
//	1.0: {"result":...,"error":null,"id":...} or {"result":null,"error":{...},"id":...}
//	2.0: {"jsonrpc":"2.0","result":...,"id":...} or {"jsonrpc":"2.0","error":{...},"id":...}
func appendReply(buf []byte, ver jsonVersion, id, result json.RawMessage, rerr *Error) []byte {
	if id == nil {
		id = json.RawMessage("null")
	}
	if result == nil {
		result = json.RawMessage("null")
	}
	var errJSON []byte
	if rerr != nil {
		errJSON = marshalError(rerr)
	}
	buf = append(buf, '{')
	if ver == v2 {
		buf = append(buf, `"jsonrpc":"2.0",`...)
		if rerr == nil {
			buf = append(buf, `"result":`...)
			buf = append(buf, result...)
		} else {
			buf = append(buf, `"error":`...)
			buf = append(buf, errJSON...)
		}
	} else {
		if rerr == nil {
			buf = append(buf, `"result":`...)
			buf = append(buf, result...)
			buf = append(buf, `,"error":null`...)
		} else {
			buf = append(buf, `"result":null,"error":`...)
			buf = append(buf, errJSON...)
		}
	}
	buf = append(buf, `,"id":`...)
	buf = append(buf, id...)
	return append(buf, '}')
}

func marshalError(e *Error) []byte {
	b, err := marshalJSON(e)
	if err != nil { // cannot happen: an int and a string
		return []byte(`{"code":-32603,"message":"Internal error"}`)
	}
	return b
}

// marshalJSON is json.Marshal without HTML escaping, so that help texts
// and user agents read as they are.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// legacyStatus is the HTTP status of a JSON-RPC 1.0 error reply, as Core's
// JSONErrorReply sets it.
func legacyStatus(code int) int {
	switch code {
	case CodeInvalidRequest:
		return http.StatusBadRequest
	case CodeMethodNotFound:
		return http.StatusNotFound
	default:
		return http.StatusInternalServerError
	}
}

// writeJSON writes a JSON reply body with its status.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", fmt.Sprint(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = io.WriteString(w, "\n")
}

// handleBody answers the JSON-RPC body of an authorized POST.
func (s *Server) handleBody(w http.ResponseWriter, body []byte) {
	body = trimJSONSpace(body)
	topError := func(status int, ver jsonVersion, e *Error) {
		writeJSON(w, status, appendReply(nil, ver, nil, nil, e))
	}
	if len(body) == 0 {
		topError(http.StatusInternalServerError, v1, NewError(CodeParse, "Parse error"))
		return
	}
	if !depthWithin(body, MaxJSONDepth) {
		topError(http.StatusInternalServerError, v1,
			NewError(CodeParse, "Parse error: JSON nested deeper than %d levels", MaxJSONDepth))
		return
	}
	if !json.Valid(body) {
		topError(http.StatusInternalServerError, v1, NewError(CodeParse, "Parse error"))
		return
	}
	switch body[0] {
	case '{':
		s.handleSingle(w, body)
	case '[':
		s.handleBatch(w, body)
	default:
		topError(http.StatusBadRequest, v1,
			NewError(CodeInvalidRequest, "Invalid Request object: expected a request object or an array of them"))
	}
}

// handleSingle answers one request object.
func (s *Server) handleSingle(w http.ResponseWriter, body []byte) {
	req, perr := parseRequest(body)
	if perr != nil {
		// Core answers envelope errors with an HTTP error whatever the
		// version, and in the version's shape when it got that far.
		writeJSON(w, legacyStatus(perr.Code), appendReply(nil, req.version, req.id, nil, perr))
		return
	}
	result, rerr := s.exec(&req)
	if req.notification() {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	status := http.StatusOK
	if rerr != nil && req.version == v1 {
		status = legacyStatus(rerr.Code)
	}
	writeJSON(w, status, appendReply(nil, req.version, req.id, result, rerr))
}

// handleBatch answers an array of requests: HTTP 200 with an array of
// replies whatever their outcome, as Core.
func (s *Server) handleBatch(w http.ResponseWriter, body []byte) {
	batchError := func(msg string, args ...any) {
		// Not a member's error but the batch's: JSON-RPC 2.0's answer to
		// an invalid batch is a single error reply.
		writeJSON(w, http.StatusBadRequest, appendReply(nil, v2, nil, nil, NewError(CodeInvalidRequest, msg, args...)))
	}
	elems, err := decodeArray(body, s.cfg.MaxBatch)
	switch {
	case errors.Is(err, errTooMany):
		batchError("Invalid Request: a batch may hold at most %d requests", s.cfg.MaxBatch)
		return
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, appendReply(nil, v1, nil, nil, NewError(CodeParse, "Parse error")))
		return
	case len(elems) == 0:
		batchError("Invalid Request: empty batch")
		return
	}
	out := []byte{'['}
	answered := 0
	for _, raw := range elems {
		req, perr := parseRequest(raw)
		var result json.RawMessage
		rerr := perr
		if perr == nil {
			result, rerr = s.exec(&req)
			if req.notification() {
				continue
			}
		}
		if answered > 0 {
			out = append(out, ',')
		}
		out = appendReply(out, req.version, req.id, result, rerr)
		answered++
	}
	if answered == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, append(out, ']'))
}
