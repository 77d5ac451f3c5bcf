package telnet

// Telnet commands (RFC 854) that matter to the decoder.
const (
	cmdSE   = 240 // end of subnegotiation
	cmdIP   = 244 // interrupt process: Ctrl-C in the client
	cmdAO   = 245 // abort output: Ctrl-O
	cmdAYT  = 246 // are you there: Ctrl-T
	cmdEC   = 247 // erase character
	cmdEL   = 248 // erase line
	cmdSB   = 250 // begin subnegotiation
	cmdWILL = 251
	cmdWONT = 252
	cmdDO   = 253
	cmdDONT = 254
	cmdIAC  = 255 // "interpret as command"; IAC IAC is a literal 0xFF

	optTimingMark = 6 // RFC 860
)

// decoder states.
const (
	stData  = iota // ordinary bytes
	stIAC          // after IAC
	stOpt          // after IAC WILL/WONT/DO/DONT: the option byte follows
	stSB           // inside IAC SB ... IAC SE
	stSBIAC        // inside a subnegotiation, after IAC
)

// lineReader turns the bytes of a telnet connection into lines. It strips
// telnet commands (IAC sequences: option negotiation, subnegotiation, and the
// two-byte commands such as NOP or AYT), so every option stays off and the
// client keeps the NVT defaults: it edits a line locally, echoes it itself
// and sends it when the person presses Enter. The commands a session must
// answer go to onCmd (when set): IP, AO, AYT with opt 0, and DO, DONT,
// WILL, WONT with their option. IP and EL also drop the line received so
// far, EC its last byte. IAC IAC is a literal 0xFF byte.
//
// A line ends at CR LF, LF, CR NUL (RFC 854's bare carriage return) or a
// bare CR; the LF or NUL right after a CR belongs to the CR, even when
// telnet commands come between them. Its state survives between calls to
// feed, so a sequence split across TCP segments decodes the same.
//
// It holds at most max bytes of a line: the rest of a longer line is
// discarded as it arrives, and the line is reported as too long when it
// ends. Bytes need not be UTF-8.
type lineReader struct {
	max     int
	state   int
	verb    byte // stOpt: the WILL, WONT, DO or DONT whose option follows
	afterCR bool // the last data byte was a CR
	tooLong bool // the current line has passed max
	line    []byte
	onCmd   func(cmd, opt byte)
}

func newLineReader(max int) *lineReader {
	return &lineReader{max: max, line: make([]byte, 0, max)}
}

// feed decodes p, calling emit with every line that ends in it (without its
// line ending; only valid during the call) and whether it was too long. It
// stops, and returns false, as soon as emit returns false.
func (r *lineReader) feed(p []byte, emit func(line []byte, tooLong bool) bool) bool {
	for _, b := range p {
		switch r.state {
		case stIAC:
			switch b {
			case cmdIAC:
				r.state = stData
				if !r.data(b, emit) {
					return false
				}
			case cmdWILL, cmdWONT, cmdDO, cmdDONT:
				r.state, r.verb = stOpt, b
			case cmdSB:
				r.state = stSB
			case cmdIP, cmdEL:
				r.state = stData
				r.line, r.tooLong, r.afterCR = r.line[:0], false, false
				r.command(b, 0)
			case cmdEC:
				r.state = stData
				if n := len(r.line); n > 0 && !r.tooLong {
					r.line = r.line[:n-1]
				}
			default: // NOP, DM, BRK, AO, AYT, GA, a stray SE
				r.state = stData
				r.command(b, 0)
			}
		case stOpt:
			r.state = stData
			r.command(r.verb, b)
		case stSB:
			if b == cmdIAC {
				r.state = stSBIAC
			}
		case stSBIAC:
			if b == cmdSE {
				r.state = stData
			} else {
				r.state = stSB // IAC IAC inside a subnegotiation, or junk
			}
		default:
			if b == cmdIAC {
				r.state = stIAC
				continue
			}
			if !r.data(b, emit) {
				return false
			}
		}
	}
	return true
}

func (r *lineReader) command(cmd, opt byte) {
	if r.onCmd != nil {
		r.onCmd(cmd, opt)
	}
}

// data takes one data byte.
func (r *lineReader) data(b byte, emit func([]byte, bool) bool) bool {
	afterCR := r.afterCR
	r.afterCR = b == '\r'
	switch {
	case afterCR && (b == '\n' || b == 0):
		return true // the rest of CR LF or CR NUL
	case b == '\r' || b == '\n':
		line, tooLong := r.line, r.tooLong
		r.line, r.tooLong = r.line[:0], false
		return emit(line, tooLong)
	case len(r.line) >= r.max:
		r.tooLong = true
	default:
		r.line = append(r.line, b)
	}
	return true
}
