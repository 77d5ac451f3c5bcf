package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	flags "github.com/jessevdk/go-flags"

	"github.com/peerd/peerd/internal/netflags"
	"github.com/peerd/peerd/internal/rpcserver"
)

// version is peerctl's version, peerd's.
const version = "0.1.0"

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // an RPC error, or peerd unreachable
	exitUsage = 2 // bad command line
)

// cookieFile is the name of peerd's cookie file in its data directory for
// the network (rpcserver.CookieFile).
const cookieFile = ".cookie"

// options are peerctl's command line options.
type options struct {
	ShowVersion bool          `short:"V" long:"version" description:"Display version information and exit"`
	RPCServer   string        `long:"rpcserver" value-name:"HOST[:PORT]" description:"peerd's RPC server (default: 127.0.0.1 on the network's RPC port: mainnet 8332, testnet3 18332, testnet4 48332, signet 38332, regtest 18443, simnet 18556)"`
	RPCUser     string        `long:"rpcuser" description:"RPC user name, with --rpcpass (default: the cookie file's credentials)"`
	RPCPass     string        `long:"rpcpass" default-mask:"-" description:"RPC password, with --rpcuser"`
	DataDir     string        `long:"datadir" value-name:"DIR" description:"Read the credentials from DIR/.cookie (or DIR/<network>/.cookie), the cookie file that peerd writes in its data directory when it has no RPC user and password"`
	Named       bool          `long:"named" description:"Pass parameters by name, as name=value (a parameter without = is positional)"`
	Stdin       bool          `long:"stdin" description:"Read more parameters from standard input, one a line, after those on the command line"`
	Timeout     time.Duration `long:"timeout" default:"60s" description:"How long to wait for peerd's reply"`

	Network netflags.Options `group:"Network Options"`
}

// network is a network's name, as peerd names its data directory, and the
// default RPC port, bitcoind's.
type network struct {
	name string
	port string
}

// chooseNetwork returns the network the options select: at most one.
func (o *options) chooseNetwork() (network, error) {
	n, chosen := o.Network.Choose()
	if len(chosen) > 1 {
		return network{}, fmt.Errorf("choose one network, not %s", strings.Join(chosen, " and "))
	}
	return network{n.Params.Name, n.RPCPort}, nil
}

// serverAddr is the host:port to call: s (HOST, HOST:PORT, [IPv6]:PORT,
// IPv6) with the network's port when it has none, 127.0.0.1 by default.
func serverAddr(s, defPort string) (string, error) {
	if s == "" {
		return net.JoinHostPort("127.0.0.1", defPort), nil
	}
	if strings.Contains(s, "/") {
		return "", fmt.Errorf("--rpcserver=%s: want HOST or HOST:PORT, not a URL", s)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: a host name, an IPv4 address, or an IPv6 one, bare or
		// in brackets.
		host, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), defPort
		if strings.Contains(host, ":") && net.ParseIP(host) == nil {
			return "", fmt.Errorf("--rpcserver=%s: want HOST or HOST:PORT", s)
		}
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", fmt.Errorf("--rpcserver=%s: bad port %q", s, port)
	}
	return net.JoinHostPort(host, port), nil
}

// cli is peerctl, with what it takes from the process.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	appDir         string           // peerd's application directory: its default data directory is appDir/data/<network>
	now            func() time.Time // the time netinfo's ages are counted to; nil: time.Now
}

// usageError is a bad command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// callError is a failure to get a reply: printed as it is, exit 1.
type callError struct{ msg string }

func (e *callError) Error() string { return e.msg }

func (c *cli) run(args []string) int {
	var o options
	p := flags.NewNamedParser("peerctl", flags.HelpFlag|flags.PassDoubleDash|flags.PassAfterNonOption)
	p.Usage = "[OPTIONS] METHOD [PARAMS...]"
	if _, err := p.AddGroup("Application Options", "", &o); err != nil {
		fmt.Fprintf(c.stderr, "peerctl: internal error: %v\n", err)
		return exitError
	}
	if opt := p.FindOptionByLongName("datadir"); opt != nil {
		opt.Description += " (default: " + filepath.Join(c.appDir, "data", "<network>") + ")"
	}
	rest, err := p.ParseArgs(args)
	if err != nil {
		var fe *flags.Error
		if errors.As(err, &fe) && fe.Type == flags.ErrHelp {
			fmt.Fprintln(c.stdout, strings.TrimRight(fe.Message, "\n"))
			fmt.Fprintln(c.stdout, "\n`peerctl help` lists peerd's methods; `peerctl help METHOD` tells about one.\n"+
				"`peerctl txstatus TXID` says in a few lines how far one of peerd's transactions got.\n"+
				"`peerctl netinfo [0-4]` is a dashboard of peerd's peers, as bitcoin-cli -netinfo; `peerctl netinfo help` explains it.")
			return exitOK
		}
		fmt.Fprintf(c.stderr, "peerctl: %v (see peerctl --help)\n", err)
		return exitUsage
	}
	if o.ShowVersion {
		fmt.Fprintf(c.stdout, "peerctl version %s\n", version)
		return exitOK
	}
	if err := c.call(&o, rest); err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(c.stderr, "peerctl: %v (see peerctl --help)\n", err)
			return exitUsage
		}
		var re *rpcError
		if errors.As(err, &re) {
			fmt.Fprint(c.stderr, re.text)
			return exitError
		}
		fmt.Fprintf(c.stderr, "peerctl: %v\n", err)
		return exitError
	}
	return exitOK
}

// call makes the call the options and arguments ask for and prints its
// result.
func (c *cli) call(o *options, args []string) error {
	if len(args) == 0 {
		return &usageError{"no method given: usage: peerctl [OPTIONS] METHOD [PARAMS...]; `peerctl help` lists the methods"}
	}
	method, words := args[0], args[1:]
	if o.Stdin {
		more, err := readLines(c.stdin)
		if err != nil {
			return fmt.Errorf("reading parameters from standard input: %v", err)
		}
		words = append(words, more...)
	}
	netw, err := o.chooseNetwork()
	if err != nil {
		return &usageError{err.Error()}
	}
	addr, err := serverAddr(o.RPCServer, netw.port)
	if err != nil {
		return &usageError{err.Error()}
	}
	if o.Timeout <= 0 {
		return &usageError{"--timeout must be positive"}
	}
	if method == "help" {
		// The method list is static: help needs no running peerd.
		if o.Named {
			if _, err := buildParams(method, words, true); err != nil {
				return &usageError{err.Error()}
			}
			for i, w := range words {
				words[i] = strings.TrimPrefix(w, "command=")
			}
		}
		if len(words) > 1 {
			return &usageError{"usage: peerctl [OPTIONS] help [METHOD]"}
		}
		command := ""
		if len(words) == 1 {
			command = words[0]
		}
		testNet := netw.name == "regtest" || netw.name == "simnet"
		_, err := fmt.Fprintln(c.stdout, rpcserver.Help(command, testNet, "http://"+addr+"/"))
		return err
	}
	if method == txStatusCommand && len(words) != 1 {
		return &usageError{"usage: peerctl [OPTIONS] " + txStatusCommand + " TXID"}
	}
	level := 0
	if method == netInfoCommand {
		if level, err = parseNetInfoLevel(words); err != nil {
			return err
		}
		if level < 0 {
			_, err := io.WriteString(c.stdout, netInfoHelp)
			return err
		}
	}
	user, pass, cookiePath, err := c.credentials(o, netw)
	if err != nil {
		return err
	}
	pc := &peerd{addr: addr, user: user, pass: pass, cookiePath: cookiePath, timeout: o.Timeout}
	if method == txStatusCommand {
		return txStatus(c.stdout, pc, words[0])
	}
	if method == netInfoCommand {
		now := time.Now
		if c.now != nil {
			now = c.now
		}
		return netInfo(c.stdout, pc, netw.name, level, now())
	}
	params, err := buildParams(method, words, o.Named)
	if err != nil {
		return &usageError{err.Error()}
	}
	result, err := pc.call(method, params)
	if err != nil {
		return err
	}
	return printResult(c.stdout, result)
}

// peerd is where and how to reach peerd's RPC server.
type peerd struct {
	addr, user, pass, cookiePath string
	timeout                      time.Duration
}

// call sends one request and returns its result; errors as post's.
// callInto calls method (nil params: none) and decodes its result into v.
// With optional, peerd's -32601 (a method it lacks, or a feature it runs
// without) is no error: found is false and v is left alone.
func (p *peerd) callInto(method string, params json.RawMessage, v any, optional bool) (found bool, err error) {
	if params == nil {
		params = json.RawMessage("[]")
	}
	res, err := p.call(method, params)
	var re *rpcError
	switch {
	case optional && errors.As(err, &re) && re.code == codeMethodNotFound:
		return false, nil
	case err != nil:
		return false, err
	}
	if err := json.Unmarshal(res, v); err != nil {
		return false, fmt.Errorf("%s's reply: %v", method, err)
	}
	return true, nil
}

func (p *peerd) call(method string, params json.RawMessage) (json.RawMessage, error) {
	body, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      int             `json:"id"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
	}{"2.0", 1, method, params})
	if err != nil {
		return nil, err
	}
	return post(p.addr, p.user, p.pass, p.cookiePath, body, p.timeout)
}

// credentials are the user and password to send: --rpcuser and --rpcpass,
// or the cookie file's. cookiePath is the file read, if any.
func (c *cli) credentials(o *options, netw network) (user, pass, cookiePath string, err error) {
	if o.RPCUser != "" || o.RPCPass != "" {
		if o.RPCUser == "" || o.RPCPass == "" {
			return "", "", "", &usageError{"--rpcuser and --rpcpass go together"}
		}
		return o.RPCUser, o.RPCPass, "", nil
	}
	var tried []string
	if o.DataDir != "" {
		// DIR is peerd's directory for the network; DIR/<network> is
		// tried too, for the DIR given to peerd's own --datadir.
		tried = []string{filepath.Join(o.DataDir, cookieFile), filepath.Join(o.DataDir, netw.name, cookieFile)}
	} else {
		tried = []string{filepath.Join(c.appDir, "data", netw.name, cookieFile)}
	}
	for _, path := range tried {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", "", "", fmt.Errorf("cannot read the cookie file: %v", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		user, pass, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok || user == "" || pass == "" {
			return "", "", "", fmt.Errorf("the cookie file %s is not user:password", path)
		}
		return user, pass, path, nil
	}
	return "", "", "", fmt.Errorf("no cookie file at %s: is peerd running on %s with cookie authentication? "+
		"Pass --rpcuser and --rpcpass, or --datadir=DIR for another data directory",
		strings.Join(tried, " or "), netw.name)
}

// stringParams are the parameters of peerd's methods that are strings,
// sent as strings whatever they look like, by method and position (name
// for --named): a txid of digits stays a string. Others are JSON-parsed if
// they can be.
var stringParams = map[string][]string{
	"sendrawtransaction":    {"hexstring"},
	"getmempoolentry":       {"txid"},
	"abortprivatebroadcast": {"id"},
	"addnode":               {"node", "command"},
	"addpeeraddress":        {"address"},
	"disconnectnode":        {"address"},
	"setban":                {"subnet", "command"},
	"help":                  {"command"},
}

// paramValue is the JSON value of a parameter written on the command line:
// itself if it is JSON other than a string and the parameter is not a
// string one, else a JSON string of the text, as bitcoin-cli.
func paramValue(text string, isString bool) json.RawMessage {
	t := strings.TrimSpace(text)
	if !isString && t != "" && t[0] != '"' && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(text)
	return b
}

// buildParams returns the request's params: an array of the words, or
// with named, an object of the name=value words, with "args" for the
// words without "=".
func buildParams(method string, words []string, named bool) (json.RawMessage, error) {
	strs := stringParams[method]
	isStringAt := func(i int) bool { return i < len(strs) }
	isStringNamed := func(name string) bool {
		for _, s := range strs {
			if s == name {
				return true
			}
		}
		return false
	}
	var positional []json.RawMessage
	type kv struct {
		k string
		v json.RawMessage
	}
	var byName []kv
	for _, w := range words {
		if named {
			if name, value, ok := strings.Cut(w, "="); ok {
				if name == "" {
					return nil, fmt.Errorf("parameter %q has no name before =", w)
				}
				byName = append(byName, kv{name, paramValue(value, isStringNamed(name))})
				continue
			}
		}
		positional = append(positional, paramValue(w, isStringAt(len(positional))))
	}
	arr := func(vs []json.RawMessage) json.RawMessage {
		if len(vs) == 0 {
			return json.RawMessage("[]")
		}
		return json.RawMessage("[" + string(bytes.Join(asBytes(vs), []byte(","))) + "]")
	}
	if !named {
		return arr(positional), nil
	}
	// An object in the words' order (a repeated name is sent as it is,
	// for peerd to refuse).
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range byName {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.k)
		b.Write(k)
		b.WriteByte(':')
		b.Write(p.v)
	}
	if len(positional) > 0 {
		if len(byName) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"args":`)
		b.Write(arr(positional))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func asBytes(vs []json.RawMessage) [][]byte {
	out := make([][]byte, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// readLines reads r's lines, without their line ends; lines may be of any
// length.
func readLines(r io.Reader) ([]string, error) {
	br := bufio.NewReader(r)
	var lines []string
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			lines = append(lines, strings.TrimRight(line, "\r\n"))
		}
		if errors.Is(err, io.EOF) {
			return lines, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// rpcError is peerd's error reply: its text as bitcoin-cli prints it, and
// its code (0 when it has none).
type rpcError struct {
	text string
	code int
}

func (e *rpcError) Error() string { return e.text }

// post sends the request and returns the reply's result, or an error:
// *rpcError for peerd's error reply, *callError for the rest.
func post(addr, user, pass, cookiePath string, body []byte, timeout time.Duration) (json.RawMessage, error) {
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/", bytes.NewReader(body))
	if err != nil {
		return nil, &callError{fmt.Sprintf("bad server address %s: %v", addr, err)}
	}
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: timeout}
	resp, err := client.Do(req)
	if err != nil {
		return nil, &callError{connectError(addr, err, timeout)}
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return nil, &callError{fmt.Sprintf("reading peerd's reply from %s: %v", addr, err)}
	}
	if resp.StatusCode == http.StatusUnauthorized {
		hint := "check --rpcuser and --rpcpass"
		if cookiePath != "" {
			hint = "the cookie file " + cookiePath + " is not the running peerd's (is this the right network and data directory?)"
		}
		return nil, &callError{fmt.Sprintf("peerd at %s refused the credentials (HTTP 401): %s", addr, hint)}
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(reply, &r); err != nil {
		text := strings.TrimSpace(string(reply))
		if len(text) > 300 {
			text = text[:300] + "..."
		}
		if text == "" {
			return nil, &callError{fmt.Sprintf("peerd at %s answered HTTP %d", addr, resp.StatusCode)}
		}
		return nil, &callError{fmt.Sprintf("peerd at %s answered HTTP %d: %s", addr, resp.StatusCode, text)}
	}
	if len(r.Error) > 0 && string(r.Error) != "null" {
		var e struct {
			Code int `json:"code"`
		}
		_ = json.Unmarshal(r.Error, &e) // a code that is no integer is 0
		return nil, &rpcError{text: formatRPCError(r.Error), code: e.Code}
	}
	return r.Result, nil
}

// formatRPCError is bitcoin-cli's rendering of an error reply.
func formatRPCError(raw json.RawMessage) string {
	var e struct {
		Code    *json.Number `json:"code"`
		Message *string      `json:"message"`
	}
	if err := json.Unmarshal(raw, &e); err != nil || (e.Code == nil && e.Message == nil) {
		return "error: " + string(raw) + "\n"
	}
	var b strings.Builder
	if e.Code != nil {
		fmt.Fprintf(&b, "error code: %s\n", *e.Code)
	}
	if e.Message != nil {
		fmt.Fprintf(&b, "error message:\n%s\n", *e.Message)
	}
	return b.String()
}

// connectError describes a failed request, with a hint when nothing
// listens at addr.
func connectError(addr string, err error, timeout time.Duration) string {
	detail := err.Error()
	var oe *net.OpError
	if errors.As(err, &oe) {
		detail = oe.Error()
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("cannot connect to peerd at %s: is peerd running? (%s)", addr, detail)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("no reply from peerd at %s within %v (%s)", addr, timeout, detail)
	default:
		return fmt.Sprintf("cannot connect to peerd at %s: %s", addr, detail)
	}
}

// printResult prints a result: a string as it is, null as nothing, the
// rest as JSON indented by two spaces, as bitcoin-cli.
func printResult(w io.Writer, result json.RawMessage) error {
	result = bytes.TrimSpace(result)
	switch {
	case len(result) == 0 || string(result) == "null":
		return nil
	case result[0] == '"':
		var s string
		if err := json.Unmarshal(result, &s); err != nil {
			return err
		}
		_, err := fmt.Fprintln(w, s)
		return err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, result, "", "  "); err != nil {
		return err
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}
