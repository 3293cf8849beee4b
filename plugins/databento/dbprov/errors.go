package dbprov

import (
	"encoding/json"
	"fmt"
	"strings"

	"time"

	"github.com/hdi-dev/hdi/plugins/sdk"
)

// Errors cross the plugin boundary as *sdk.Error with a kind (permanent,
// retryable, auth, not_found, rate_limited), which alone decides whether
// the host retries a unit.

// retryable reports whether err says the unit may succeed if retried.
func retryable(err error) bool {
	k, _ := sdk.KindOf(err)
	return k.Retry()
}

// retryableErr is a transient failure: the host retries the unit.
func retryableErr(cause error, format string, args ...any) error {
	return &sdk.Error{Kind: sdk.ErrorRetryable, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// permanent is a failure a retry cannot mend.
func permanent(format string, args ...any) error {
	return &sdk.Error{Kind: sdk.ErrorPermanent, Msg: fmt.Sprintf(format, args...)}
}

// APIError is an HTTP error response from the Databento API.
type APIError struct {
	Endpoint string // e.g. "timeseries.get_range"
	Status   int
	Detail   string // Databento's "detail" (its message when structured)
	// Case is the machine-readable case of a structured detail, e.g.
	// data_start_before_available_start ("" for a plain detail).
	Case string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("databento %s: HTTP %d: %s", e.Endpoint, e.Status, e.Detail)
}

// parseDetail extracts the "detail" of a JSON error body: a string, or a
// structured object {"case", "message", "docs", ...} (its message and
// case); else the body text.
func parseDetail(body []byte) (detail, caseName string) {
	var v struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &v) == nil && len(v.Detail) > 0 {
		var s string
		if json.Unmarshal(v.Detail, &s) == nil {
			return s, ""
		}
		var st struct {
			Case    string `json:"case"`
			Message string `json:"message"`
			Docs    string `json:"docs"`
		}
		if json.Unmarshal(v.Detail, &st) == nil && st.Message != "" {
			msg := st.Message
			if st.Docs != "" {
				msg += " (see " + st.Docs + ")"
			}
			return msg, st.Case
		}
		return string(v.Detail), ""
	}
	t := strings.TrimSpace(string(body))
	if len(t) > 300 {
		t = t[:300] + "..."
	}
	if t == "" {
		return "(no detail in the response)", ""
	}
	return t, ""
}

var apiParams = []string{"dataset", "symbols", "schema", "stype_in", "stype_out", "start", "end", "limit"}

// caseParams names the parameter a structured error's case is about.
var caseParams = map[string]string{
	"data_start_before_available_start": "start", "data_end_after_available_end": "end",
	"data_start_after_available_end": "start", "data_end_before_available_start": "end",
}

// fixHint says what the user should change for a non-retryable API error.
func fixHint(e *APIError) string {
	if p, ok := caseParams[e.Case]; ok {
		return "fix the " + p + " parameter: the dataset has no data there"
	}
	d := strings.ToLower(e.Case + " " + e.Detail)
	switch e.Status {
	case 401:
		return "check the API key (DATABENTO_API_KEY or the provider config api_key)"
	case 402:
		return "check the payment details of the Databento account"
	case 403:
		return "the API key lacks the entitlement: check the dataset and schema, or the key's permissions in the Databento portal"
	}
	for _, p := range apiParams {
		if strings.Contains(d, p) {
			return "fix the " + p + " parameter"
		}
	}
	switch e.Status {
	case 404:
		return "check the dataset and symbols parameters"
	case 409:
		return "the request conflicts with an existing resource"
	case 429:
		return "the API asks to slow down: lower concurrency, or retry later"
	}
	if retryableStatus(e.Status) {
		return "a server error that outlasted the retries"
	}
	return "fix the job's parameters (dataset, schema, symbols, stype_in, stype_out, start, end, limit)"
}

// classify turns an APIError that will not be retried into an *sdk.Error
// whose kind fits the HTTP status and whose message quotes the detail and
// names what to fix. A 429 that outlasted the retries is rate_limited with
// the server's Retry-After.
func classify(e *APIError, retryAfter time.Duration) error {
	kind := sdk.ErrorPermanent
	switch {
	case e.Status == 401, e.Status == 402, e.Status == 403:
		kind = sdk.ErrorAuth
	case e.Status == 404:
		kind = sdk.ErrorNotFound
	case e.Status == 429:
		kind = sdk.ErrorRateLimited
	case retryableStatus(e.Status):
		kind = sdk.ErrorRetryable
	}
	return &sdk.Error{Kind: kind, RetryAfter: retryAfter, Msg: fmt.Sprintf("databento %s: HTTP %d: %q: %s", e.Endpoint, e.Status, e.Detail, fixHint(e)), Err: e}
}

// retryableStatus reports whether an HTTP status is worth retrying.
func retryableStatus(code int) bool {
	return code == 408 || code == 429 || code >= 500
}
