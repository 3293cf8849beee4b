package dbprov

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hdi-dev/hdi/plugins/sdk"
)

// The Live API's control protocol (Databento's Raw API): text lines of
// "key=value" fields joined by "|". The gateway greets with
// "lsg_version=..." and a challenge "cram=..."; the client answers with an
// authentication request whose auth field is the CRAM response; the
// gateway answers "success=1|session_id=..." or "success=0|error=...".
// Then the client sends its subscriptions and "start_session=0", and
// everything after is DBN.

// cramResponse answers a CRAM challenge: the hex SHA-256 of
// "CHALLENGE|KEY", a dash, and the key's last five characters (its bucket
// id). The key itself never crosses the wire.
func cramResponse(challenge, key string) string {
	sum := sha256.Sum256([]byte(challenge + "|" + key))
	return hex.EncodeToString(sum[:]) + "-" + key[max(len(key)-5, 0):]
}

// liveConn is an authenticated session with a Live gateway.
type liveConn struct {
	addr    string
	conn    net.Conn
	br      *bufio.Reader // control lines, then the DBN stream
	key     string        // for redaction only
	session string
	unwatch func() bool // stops closing conn when the context ends
}

// controlFields splits a control line into its fields.
func controlFields(line string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(strings.TrimRight(line, "\r\n"), "|") {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// dialLive connects to the gateway and authenticates. A gateway that
// cannot be reached or breaks off is retryable; a refused key is an auth
// error whose one line never shows the key.
func dialLive(ctx context.Context, addr string, cfg *config, lr *liveRequest) (*liveConn, error) {
	d := net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, retryableErr(err, "databento live: cannot connect to the gateway %s: %v", addr, err)
	}
	lc := &liveConn{addr: addr, conn: conn, br: bufio.NewReaderSize(conn, 64<<10), key: cfg.APIKey}
	lc.unwatch = context.AfterFunc(ctx, func() { _ = conn.Close() })
	if err := lc.authenticate(cfg, lr); err != nil {
		lc.close()
		var se *sdk.Error
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, lc.cut(ctx, err, "authenticating")
	}
	return lc, nil
}

func (lc *liveConn) close() {
	lc.unwatch()
	_ = lc.conn.Close()
}

func (lc *liveConn) redact(s string) string { return redactKey(s, lc.key) }

// cut words a failure of the connection while doing what: retryable,
// unless ctx ended.
func (lc *liveConn) cut(ctx context.Context, err error, what string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return retryableErr(err, "databento live: gateway %s: connection failed while %s: %s", lc.addr, what, lc.redact(err.Error()))
}

// readLine reads one control line.
func (lc *liveConn) readLine() (map[string]string, error) {
	line, err := lc.br.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("the gateway closed the connection")
		}
		return nil, err
	}
	return controlFields(line), nil
}

// authenticate answers the challenge within the connect timeout.
func (lc *liveConn) authenticate(cfg *config, lr *liveRequest) error {
	_ = lc.conn.SetDeadline(time.Now().Add(cfg.ConnectTimeout))
	defer func() { _ = lc.conn.SetDeadline(time.Time{}) }()
	var cram string
	for range 8 { // the greeting, then the challenge
		f, err := lc.readLine()
		if err != nil {
			return err
		}
		if c, ok := f["cram"]; ok {
			cram = c
			break
		}
	}
	if cram == "" {
		return fmt.Errorf("no CRAM challenge from the gateway")
	}
	tsOut := "0"
	if lr.TsOut {
		tsOut = "1"
	}
	auth := strings.Join([]string{
		"auth=" + cramResponse(cram, cfg.APIKey), "dataset=" + lr.Dataset, "encoding=dbn", "compression=" + lr.Compression,
		"ts_out=" + tsOut, "heartbeat_interval_s=" + strconv.Itoa(lr.Heartbeat), "slow_reader_behavior=" + lr.SlowReader,
		"client=hdi-provider-databento/" + Version,
	}, "|") + "\n"
	if _, err := io.WriteString(lc.conn, auth); err != nil {
		return err
	}
	f, err := lc.readLine()
	if err != nil {
		return err
	}
	if f["success"] != "1" {
		msg := strings.TrimSpace(f["error"])
		if msg == "" {
			msg = "the gateway gave no reason"
		}
		return &sdk.Error{Kind: sdk.ErrorAuth, Field: "config.api_key", Msg: fmt.Sprintf(
			"databento live: authentication failed: %s: check the API key ($%s or api_key under providers.databento) and that it is entitled to live data of %s",
			lc.redact(msg), EnvAPIKey, lr.Dataset)}
	}
	lc.session = f["session_id"]
	return nil
}

// subscribe sends one subscription per stream (in lines of at most 500
// symbols) with its start, then starts the session.
func (lc *liveConn) subscribe(lr *liveRequest, starts []int64) error {
	bw := bufio.NewWriter(lc.conn)
	for i, s := range lr.Streams {
		snapshot := "0"
		if lr.Snapshot && s.String() == "mbo" && starts[i] == 0 {
			snapshot = "1" // only a feed that does not replay: Databento refuses both
		}
		for k := 0; k < len(lr.Symbols); k += maxSymbolsPerLine {
			chunk := lr.Symbols[k:min(k+maxSymbolsPerLine, len(lr.Symbols))]
			fields := []string{"schema=" + s.String(), "stype_in=" + lr.StypeIn.String(), "symbols=" + strings.Join(chunk, ",")}
			if starts[i] != 0 {
				fields = append(fields, "start="+strconv.FormatInt(starts[i], 10))
			}
			last := "0"
			if k+maxSymbolsPerLine >= len(lr.Symbols) {
				last = "1"
			}
			fields = append(fields, "snapshot="+snapshot, "id="+strconv.Itoa(i), "is_last="+last)
			if _, err := bw.WriteString(strings.Join(fields, "|") + "\n"); err != nil {
				return err
			}
		}
	}
	if _, err := bw.WriteString("start_session=0\n"); err != nil {
		return err
	}
	return bw.Flush()
}
