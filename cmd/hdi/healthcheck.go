package main

import (
	"context"
	neturl "net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/serve"
)

func init() { addCommand(newHealthcheckCmd) }

func newHealthcheckCmd(app *App) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck [URL]",
		Short: "Exit 0 when hdi serve answers its health check, 1 otherwise",
		Long: `Ask a running 'hdi serve' for GET /healthz (default
http://127.0.0.1:8080/healthz) and print its answer: exit 0 on 200, 1 when it
does not answer, or answers 503 because its database is down; 2 when URL is
not an http(s) URL. For container health checks in images with no shell or
curl (docker-compose.yml uses it).`,
		Example: "  hdi healthcheck http://127.0.0.1:1/healthz --timeout 2s   # nothing listens on port 1 (exit 1)",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			url := "http://127.0.0.1:8080/healthz"
			if len(args) == 1 {
				url = args[0]
			}
			if u, err := neturl.Parse(url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return usageErrorf("URL %q: want an http(s) URL such as http://127.0.0.1:8080/healthz", url)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			body, err := serve.Probe(ctx, url)
			if err != nil {
				return err
			}
			_, err = app.Stdout.Write(body)
			return err
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	return cmd
}
