package serve

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/hdi-dev/hdi/internal/access"
)

// Who may do what. Every request under /api/, /openapi.json and /metrics
// passes authorize, once routed:
//
//   - A bearer token is checked against the bootstrap tokens (the token
//     file, HDI_API_TOKEN: admin) and the database's (access.Store). A
//     missing or refused token is 401 when a token is required: bootstrap
//     tokens are configured, the server listens beyond loopback, or the
//     database holds a live token. Otherwise (loopback, no token anywhere)
//     a request without one may read, as before tokens existed.
//   - The route needs a scope (routeScopes; read unless listed); a token
//     without it is 403, a request without a token 401.
//   - A token's requests are limited in rate (429 with Retry-After) and in
//     number at once; refused authentications are limited per address, and
//     past the limit get 429 without being checked or recorded.
//   - Every write request and every 401 and 403 is a row of the audit log.

// routeScopes are the routes that need more than the read scope.
var routeScopes = map[string]access.Scope{
	"POST /api/v1/runs":                   access.Run,
	"POST /api/v1/runs/{id}/cancel":       access.Run,
	"POST /api/v1/quarantine/{run}/retry": access.Run,
	"GET /api/v1/audit":                   access.Admin,
	"GET /api/v1/tokens":                  access.Admin,
	"POST /api/v1/tokens":                 access.Admin,
	"POST /api/v1/tokens/{name}/revoke":   access.Admin,
}

// identityKey keys the request's access.Identity in its context.
type identityKey struct{}

func identityOf(ctx context.Context) access.Identity {
	id, _ := ctx.Value(identityKey{}).(access.Identity)
	return id
}

// isWrite says whether a request changes something (and is audited).
func isWrite(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// authorize authenticates the request, checks its route's scope and the
// limits, and records what the audit log keeps.
func (s *Server) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := chi.RouteContext(r.Context()).RoutePattern()
		need, ok := routeScopes[r.Method+" "+route]
		if !ok {
			need = access.Read
		}
		a := &audited{route: route, write: isWrite(r.Method)}
		ctx := context.WithValue(r.Context(), auditKey{}, a)
		r = r.WithContext(ctx)
		id, refusal, err := s.identify(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if refusal == nil && !id.Scope.Allows(need) {
			if id.Name == "" {
				refusal = &access.Refusal{Reason: fmt.Sprintf("%s %s needs a token with the %s scope: create one with `hdi tokens create --name NAME --scope %s`", r.Method, route, need, need)}
			} else {
				a.token = id.Name
				s.answer(w, r, a, &problem{status: http.StatusForbidden, detail: fmt.Sprintf("the token %q has the %s scope; %s %s needs %s", id.Name, id.Scope, r.Method, route, need)})
				return
			}
		}
		if refusal != nil {
			if ok, wait := s.addressRate.allow(remoteHost(r)); !ok {
				writeProblem(w, r, tooMany(wait, "too many refused authentications from this address"))
				return
			}
			a.token = refusal.Name
			w.Header().Set("WWW-Authenticate", `Bearer realm="hdi"`)
			s.answer(w, r, a, &problem{status: http.StatusUnauthorized, detail: refusal.Reason})
			return
		}
		a.token = id.Name
		if id.Name != "" {
			if ok, wait := s.tokenRate.allow(id.Name); !ok {
				s.answer(w, r, a, tooMany(wait, fmt.Sprintf("the token %q sent more than %d requests a second", id.Name, s.opts.TokenRate)))
				return
			}
			done, ok := s.inFlight.enter(id.Name)
			if !ok {
				s.answer(w, r, a, tooMany(0, fmt.Sprintf("the token %q has %d requests under way already: wait for one to end", id.Name, s.opts.TokenQueries)))
				return
			}
			defer done()
		}
		r = r.WithContext(context.WithValue(ctx, identityKey{}, id))
		if !a.write {
			next.ServeHTTP(w, r)
			return
		}
		ww, ok := w.(middleware.WrapResponseWriter)
		if !ok {
			ww = middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		}
		next.ServeHTTP(ww, r)
		s.record(r, a, ww.Status())
	})
}

// answer writes p and records the request when the audit log keeps it.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, a *audited, p *problem) {
	writeProblem(w, r, p)
	s.record(r, a, p.status)
}

// tooMany is a 429 that says when to try again.
func tooMany(wait time.Duration, detail string) *problem {
	return &problem{status: http.StatusTooManyRequests, detail: detail + "; retry after Retry-After seconds",
		headers: map[string]string{"Retry-After": retryAfterOf(wait)}}
}

// identify reads the request's bearer token: its identity, or why it is
// refused (nil, nil when no token is needed: the anonymous reader).
func (s *Server) identify(r *http.Request) (access.Identity, *access.Refusal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		required := s.opts.Public
		if !required {
			var err error
			if required, err = s.tokens.Required(r.Context()); err != nil {
				return access.Identity{}, nil, err
			}
		}
		if required {
			return access.Identity{}, &access.Refusal{Reason: "send the API token: Authorization: Bearer TOKEN"}, nil
		}
		return access.Identity{Scope: access.Read}, nil, nil
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return access.Identity{}, &access.Refusal{Reason: "the Authorization header must be Bearer TOKEN"}, nil
	}
	return s.tokens.Check(r.Context(), strings.TrimSpace(token))
}

// remoteHost is the address of the request's peer (a proxy's, behind one).
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// CheckAddr refuses to listen beyond loopback when no token is required:
// anyone who could reach the port could read the database. tokens says
// whether there is one (configured, or live in the database).
func CheckAddr(addr string, tokens bool) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("--addr %q: want HOST:PORT, e.g. 127.0.0.1:8080", addr)
	}
	if tokens || IsLoopback(addr) {
		return nil
	}
	return fmt.Errorf("refusing to listen on %s without an API token: anyone who reaches it could read the database; create one (hdi tokens create --name NAME --scope read), or set HDI_API_TOKEN, api_tokens in the config file, or --token-file (clients then send Authorization: Bearer TOKEN), or listen on 127.0.0.1", addr)
}

// IsLoopback reports whether addr (HOST:PORT) listens on loopback only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
