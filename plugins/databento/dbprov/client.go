package dbprov

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// apiVersion is the path prefix of the historical API.
const apiVersion = "/v0/"

// client calls the Databento historical HTTP API: form-encoded requests
// with HTTP Basic authentication (the key as user name, empty password),
// JSON errors with a "detail", retries with exponential backoff and jitter.
type client struct {
	base    string // e.g. https://hist.databento.com (no trailing slash, no /v0)
	key     string
	http    *http.Client
	timeout time.Duration // whole-response bound for JSON calls; idle bound for streams
	retries int
	backoff time.Duration
	sleep   func(ctx context.Context, d time.Duration) error
	// failFast (a dry run's client): once a request has failed for good,
	// every later one fails at once with its error.
	failFast bool
	failed   atomic.Pointer[error]
}

func newClient(c *config) *client {
	dialer := &net.Dialer{Timeout: c.ConnectTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   c.ConnectTimeout,
		ResponseHeaderTimeout: c.Timeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		// The DBN body is already zstd; do not let Go add gzip.
		DisableCompression: true,
	}
	return &client{
		base: c.BaseURL, key: c.APIKey, http: &http.Client{Transport: tr},
		timeout: c.Timeout, retries: c.MaxRetries, backoff: c.RetryBackoff, sleep: sleepCtx,
	}
}

// dryRunTimeout bounds the set-up and the answer of a dry run's requests.
const dryRunTimeout = 5 * time.Second

// newDryRunClient is the client of a plan that is only shown: its
// estimates are best effort, so each request is tried once with short
// timeouts, and after the first failure the others give up at once. An
// unreachable API costs a dry run seconds, not minutes.
func newDryRunClient(cfg *config) *client {
	c := *cfg
	c.MaxRetries = 0
	c.Timeout = min(c.Timeout, dryRunTimeout)
	c.ConnectTimeout = min(c.ConnectTimeout, dryRunTimeout)
	cl := newClient(&c)
	cl.failFast = true
	return cl
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// redact removes the API key from a message, in case anything echoes it.
func (c *client) redact(s string) string { return redactKey(s, c.key) }

// redactKey removes key from s.
func redactKey(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, "<redacted>")
}

// delay returns the wait before retry attempt n (1-based): Retry-After when
// the server sent one, else exponential backoff with full jitter.
func (c *client) delay(n int, retryAfter string) time.Duration {
	if d, ok := parseRetryAfter(retryAfter); ok {
		return min(d, 5*time.Minute)
	}
	base := c.backoff << min(n-1, 10)
	base = min(base, 30*time.Second)
	return base/2 + rand.N(base/2+1)
}

func parseRetryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// do sends one request (POST form, or GET with a query) and returns a 2xx
// response; the caller closes its body. Retryable failures are retried up
// to c.retries times; the last one comes back as a retryable *Error (the
// host decides whether the unit is tried again).
func (c *client) do(ctx context.Context, method, endpoint string, form url.Values) (*http.Response, context.CancelFunc, error) {
	if err := c.failed.Load(); err != nil {
		return nil, nil, *err
	}
	resp, cancel, err := c.try(ctx, method, endpoint, form)
	if err != nil && c.failFast && retryable(err) {
		c.failed.CompareAndSwap(nil, &err)
	}
	return resp, cancel, err
}

// try is do's loop of attempts.
func (c *client) try(ctx context.Context, method, endpoint string, form url.Values) (*http.Response, context.CancelFunc, error) {
	u := c.base + apiVersion + endpoint
	var lastErr error
	var lastAfter string
	for attempt := 0; ; attempt++ {
		resp, cancel, retryAfter, err := c.once(ctx, method, u, endpoint, form)
		if err == nil {
			return resp, cancel, nil
		}
		var ae *APIError
		if errors.As(err, &ae) && !retryableStatus(ae.Status) {
			return nil, nil, classify(ae, 0)
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		lastErr, lastAfter = err, retryAfter
		if attempt >= c.retries {
			break
		}
		if err := c.sleep(ctx, c.delay(attempt+1, retryAfter)); err != nil {
			return nil, nil, err
		}
	}
	var ae *APIError
	if errors.As(lastErr, &ae) {
		after, _ := parseRetryAfter(lastAfter)
		return nil, nil, classify(ae, after)
	}
	return nil, nil, retryableErr(lastErr, "databento %s: no answer from %s after %s: %s", endpoint, c.host(), attempts(c.retries+1), c.redact(cause(lastErr).Error()))
}

// host is the API's host (and port), for messages.
func (c *client) host() string {
	if u, err := url.Parse(c.base); err == nil && u.Host != "" {
		return u.Host
	}
	return c.base
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return strconv.Itoa(n) + " attempts"
}

// cause is what went wrong under a request's URL (which the message
// names already): "dial tcp 10.0.0.1:443: i/o timeout".
func cause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (c *client) once(ctx context.Context, method, u, endpoint string, form url.Values) (*http.Response, context.CancelFunc, string, error) {
	rctx, cancel := context.WithCancel(ctx)
	var body io.Reader
	if method == http.MethodGet {
		if len(form) > 0 {
			u += "?" + form.Encode()
		}
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(rctx, method, u, body)
	if err != nil {
		cancel()
		return nil, nil, "", fmt.Errorf("build request for %s: %w (check base_url)", endpoint, err)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	resp, retryAfter, err := c.send(req, endpoint)
	if err != nil {
		cancel()
		return nil, nil, retryAfter, err
	}
	return resp, cancel, "", nil
}

// send sends req with the API key (HTTP Basic) and the User-Agent and
// returns a 2xx response; the caller closes its body. Any other status
// comes back as an *APIError, its body read and closed, with the
// response's Retry-After.
func (c *client) send(req *http.Request, endpoint string) (*http.Response, string, error) {
	req.Header.Set("User-Agent", "hdi-provider-databento")
	req.SetBasicAuth(c.key, "")
	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error holds the URL only (the key is in a header).
		return nil, "", fmt.Errorf("connect to %s: %w", endpoint, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, "", nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	detail, caseName := parseDetail(b)
	return nil, resp.Header.Get("Retry-After"), &APIError{Endpoint: endpoint, Status: resp.StatusCode, Detail: c.redact(detail), Case: caseName}
}

// getJSON calls a metadata or symbology endpoint and decodes its JSON.
func (c *client) getJSON(ctx context.Context, method, endpoint string, form url.Values, out any) error {
	tctx, tcancel := context.WithTimeout(ctx, c.timeout*time.Duration(c.retries+2))
	defer tcancel()
	var lastErr error
	for attempt := 0; attempt <= c.retries; attempt++ {
		resp, cancel, err := c.do(tctx, method, endpoint, form)
		if err != nil {
			return err
		}
		err = func() error {
			defer cancel()
			defer resp.Body.Close()
			t := time.AfterFunc(c.timeout, cancel)
			defer t.Stop()
			return json.NewDecoder(resp.Body).Decode(out)
		}()
		if err == nil {
			return nil
		}
		lastErr = err
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return retryableErr(lastErr, "databento %s: unreadable response: %s", endpoint, c.redact(lastErr.Error()))
}

// idleReader cancels the request when no byte arrives for d.
type idleReader struct {
	r     io.Reader
	t     *time.Timer
	d     time.Duration
	bytes int64
}

func newIdleReader(r io.Reader, d time.Duration, cancel context.CancelFunc) *idleReader {
	return &idleReader{r: r, d: d, t: time.AfterFunc(d, cancel)}
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.t.Reset(ir.d)
		ir.bytes += int64(n)
	}
	return n, err
}

func (ir *idleReader) stop() { ir.t.Stop() }
