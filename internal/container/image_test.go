package container

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/query/querytest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// EnvImage set to "required" (as .ci/run does) makes a missing buildah a
// failure instead of a skip.
const EnvImage = "HDI_TEST_IMAGE"

// maxImageBytes is the size the image must stay under, unpacked.
const maxImageBytes = 60 << 20

// ociConfig is the part of an OCI image config the test reads.
type ociConfig struct {
	Config struct {
		User       string
		Env        []string
		Entrypoint []string
		WorkingDir string
		Labels     map[string]string
	} `json:"config"`
}

// TestImage builds the image with make image and buildah, unpacks the OCI
// archive, and runs it with chroot as its own user: hdi version, the compose
// file's migrate, serve (and its healthcheck) and worker commands, and a
// queued load of a DBN file through the bundled provider. Nothing from the
// host is reachable inside, so this proves the image is self-contained.
func TestImage(t *testing.T) {
	if _, err := exec.LookPath("buildah"); err != nil {
		if os.Getenv(EnvImage) == "required" {
			t.Fatalf("buildah is not installed (apt-get install buildah), and %s=required", EnvImage)
		}
		t.Skip("buildah is not installed (apt-get install buildah); .ci/run installs it")
	}
	if os.Geteuid() != 0 {
		t.Skip("building with buildah's vfs driver and chroot need root")
	}
	tmp := t.TempDir()
	version := fmt.Sprintf("test-%d", os.Getpid())
	out := filepath.Join(tmp, "out")
	build := exec.Command("make", "-C", repoRoot(), "image")
	build.Env = append(os.Environ(), "VERSION="+version, "IMAGE=hdi-test", "OUT="+out,
		"BUILDAH=buildah --root "+filepath.Join(tmp, "storage")+" --runroot "+filepath.Join(tmp, "run")+" --storage-driver vfs")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, b)
	}

	rootfs := filepath.Join(tmp, "rootfs")
	cfg, size := unpackOCI(t, filepath.Join(out, "hdi-image.tar"), rootfs)
	t.Logf("image: %.1f MB unpacked", float64(size)/1e6)
	if size > maxImageBytes {
		t.Errorf("the image is %.1f MB unpacked, more than %d MB", float64(size)/1e6, maxImageBytes>>20)
	}

	// Metadata.
	uid, gid := imageUser(t, cfg.Config.User)
	if uid == 0 {
		t.Fatalf("the image runs as root (User %q)", cfg.Config.User)
	}
	if got := strings.Join(cfg.Config.Entrypoint, " "); got != "/usr/local/bin/hdi" {
		t.Errorf("entrypoint %q", got)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.revision": "",
		"org.opencontainers.image.source":   "",
		"org.opencontainers.image.licenses": "",
	} {
		if got, ok := cfg.Config.Labels[k]; !ok || got == "" || (want != "" && got != want) {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	// Contents: hdi, its providers, certificates, zoneinfo; no shell.
	for _, f := range []string{"usr/local/bin/hdi", "usr/local/bin/hdi-provider-databento", "usr/local/bin/hdi-provider-csv",
		"etc/ssl/certs/ca-certificates.crt", "usr/share/zoneinfo/America/Chicago", "etc/passwd"} {
		if _, err := os.Stat(filepath.Join(rootfs, f)); err != nil {
			t.Errorf("image lacks /%s: %v", f, err)
		}
	}
	for _, f := range []string{"bin/sh", "bin/busybox", "usr/bin/env", "lib"} {
		if _, err := os.Lstat(filepath.Join(rootfs, f)); err == nil {
			t.Errorf("image has /%s: it should hold hdi and nothing else to run", f)
		}
	}
	if st, err := os.Stat(filepath.Join(rootfs, "tmp")); err != nil || st.Mode()&os.ModeSticky == 0 || st.Mode().Perm() != 0o777 {
		t.Errorf("/tmp is not world-writable with the sticky bit: %v %v", st.Mode(), err)
	}

	img := &image{t: t, root: rootfs, uid: uid, gid: gid, env: cfg.Config.Env, dir: cfg.Config.WorkingDir}
	if got := img.run(nil, "version"); !strings.Contains(got, "hdi "+version) {
		t.Errorf("hdi version in the image says %q, want %s", got, version)
	}

	// The compose file's commands, run as that service would, against a
	// fresh database (DATABASE_URL the only difference).
	p, err := loadCompose(t, exampleEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.NewDB(t)
	serviceEnv := func(name string) []string {
		var env []string
		for k, v := range p.Services[name].Environment {
			if k == "DATABASE_URL" {
				env = append(env, k+"="+dbURL)
			} else if v != nil {
				env = append(env, k+"="+*v)
			}
		}
		return env
	}
	img.run(serviceEnv("migrate"), p.Services["migrate"].Command...)
	plugins := img.run(serviceEnv("hdi"), "plugins", "list")
	for _, name := range []string{"databento", "csv"} {
		if !strings.Contains(plugins, name) {
			t.Errorf("hdi plugins list in the image does not list %s:\n%s", name, plugins)
		}
	}

	// serve, with its token as a mounted secret, answers its healthcheck;
	// the API needs the token.
	port := freePort(t)
	swapPort := func(args []string) []string {
		out := make([]string, len(args))
		for i, a := range args {
			out[i] = strings.ReplaceAll(a, ":8080", ":"+port)
		}
		return out
	}
	secret := p.Services["serve"].Secrets[0].Source
	token := "image-test-token"
	if err := os.MkdirAll(filepath.Join(rootfs, "run", "secrets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "run", "secrets", secret), []byte(token+"\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	serve := img.start(serviceEnv("serve"), swapPort(p.Services["serve"].Command)...)
	health := swapPort(p.Services["serve"].HealthCheck.Test[1:]) // after CMD
	if health[0] != "/usr/local/bin/hdi" {
		t.Fatalf("serve's healthcheck runs %q, not the image's hdi", health[0])
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := img.try(nil, health[1:]...); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("serve's healthcheck %q still fails after 20 s: %v", health, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	api := "http://127.0.0.1:" + port + "/api/v1/runs"
	if code := get(t, api, ""); code != http.StatusUnauthorized {
		t.Errorf("GET %s without the token: %d, want 401", api, code)
	}
	if code := get(t, api, token); code != http.StatusOK {
		t.Errorf("GET %s with the token: %d, want 200", api, code)
	}

	// A queued load of a sample DBN file, done by the compose file's
	// workers (two, as its replicas), each running its provider.
	sample := "test_data.trades.v3.dbn.zst"
	b, err := os.ReadFile(filepath.Join(querytest.SampleDir(t), sample))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "tmp", sample), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var queued struct {
		RunID int64 `json:"run_id"`
		Units int   `json:"units"`
	}
	q := img.run(serviceEnv("hdi"), "ingest", "--provider", "databento", "--file", "/tmp/"+sample, "--queue", "--format", "json")
	if err := json.Unmarshal([]byte(q), &queued); err != nil || queued.RunID == 0 || queued.Units == 0 {
		t.Fatalf("ingest --queue printed %q: %v", q, err)
	}
	workers := []*exec.Cmd{img.start(serviceEnv("worker"), p.Services["worker"].Command...), img.start(serviceEnv("worker"), p.Services["worker"].Command...)}
	img.run(serviceEnv("hdi"), "runs", "wait", strconv.FormatInt(queued.RunID, 10), "--timeout", "90s")
	var rows int64
	if err := pgtest.Connect(t, dbURL).QueryRow(t.Context(), "SELECT count(*) FROM trades").Scan(&rows); err != nil || rows == 0 {
		t.Errorf("trades after the image's workers loaded %s: %d rows, %v", sample, rows, err)
	}

	// SIGTERM stops every service cleanly.
	for _, c := range append(workers, serve) {
		stop(t, c)
	}
}

// image runs the unpacked image's hdi under chroot, as the image's user, in
// its working directory, with its environment.
type image struct {
	t        *testing.T
	root     string
	uid, gid uint32
	env      []string
	dir      string
}

func (img *image) command(env []string, args ...string) *exec.Cmd {
	c := &exec.Cmd{Path: "/usr/local/bin/hdi", Args: append([]string{"/usr/local/bin/hdi"}, args...), Dir: img.dir, Env: append(append([]string{}, img.env...), env...)}
	c.SysProcAttr = &syscall.SysProcAttr{Chroot: img.root, Credential: &syscall.Credential{Uid: img.uid, Gid: img.gid}, Setpgid: true}
	return c
}

// try runs hdi to its end and returns its stdout.
func (img *image) try(env []string, args ...string) (string, error) {
	c := img.command(env, args...)
	var stdout, stderr strings.Builder
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return stdout.String(), fmt.Errorf("hdi %s in the image: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// run is try, failing the test on an error.
func (img *image) run(env []string, args ...string) string {
	img.t.Helper()
	out, err := img.try(env, args...)
	if err != nil {
		img.t.Fatal(err)
	}
	return out
}

// start starts hdi in the background; the test kills it if it still runs
// at the end.
func (img *image) start(env []string, args ...string) *exec.Cmd {
	img.t.Helper()
	c := img.command(env, args...)
	c.Stderr = &tailWriter{}
	if err := c.Start(); err != nil {
		img.t.Fatalf("start hdi %s in the image: %v", strings.Join(args, " "), err)
	}
	img.t.Cleanup(func() {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		_ = c.Wait()
	})
	return c
}

// stop sends SIGTERM and expects exit 0 within 30 s.
func stop(t *testing.T, c *exec.Cmd) {
	t.Helper()
	_ = c.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s after SIGTERM: %v\n%s", strings.Join(c.Args, " "), err, c.Stderr)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not stop within 30 s of SIGTERM", strings.Join(c.Args, " "))
	}
}

// tailWriter keeps the last 8 KiB written, for failure messages.
type tailWriter struct{ b []byte }

func (w *tailWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	if len(w.b) > 8<<10 {
		w.b = w.b[len(w.b)-8<<10:]
	}
	return len(p), nil
}

func (w *tailWriter) String() string { return string(w.b) }

func get(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// imageUser reads the config's User, numeric as make image writes it.
func imageUser(t *testing.T, user string) (uint32, uint32) {
	t.Helper()
	u, g, _ := strings.Cut(user, ":")
	uid, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		t.Fatalf("image user %q is not numeric (runtimes cannot check a name is not root without /etc/passwd)", user)
	}
	gid := uid
	if g != "" {
		if gid, err = strconv.ParseUint(g, 10, 32); err != nil {
			t.Fatalf("image group %q: %v", user, err)
		}
	}
	return uint32(uid), uint32(gid)
}

// unpackOCI reads an OCI archive (an image layout in a tar) holding one
// image, extracts its layers in order into dir and returns its config and
// its unpacked size (the bytes of its regular files).
func unpackOCI(t *testing.T, archive, dir string) (ociConfig, int64) {
	t.Helper()
	layout := t.TempDir()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := extract(tar.NewReader(f), layout); err != nil {
		t.Fatalf("%s: %v", archive, err)
	}
	blob := func(digest string, v any) string {
		path := filepath.Join(layout, "blobs", strings.Replace(digest, ":", string(filepath.Separator), 1))
		if v != nil {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatalf("%s: %v", digest, err)
			}
		}
		return path
	}
	type descriptor struct {
		MediaType, Digest string
	}
	var index struct{ Manifests []descriptor }
	b, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		t.Fatalf("%s is not an OCI archive: %v", archive, err)
	}
	if err := json.Unmarshal(b, &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("%s: index.json: %v, %d manifests", archive, err, len(index.Manifests))
	}
	var manifest struct {
		Config descriptor
		Layers []descriptor
	}
	blob(index.Manifests[0].Digest, &manifest)
	var cfg ociConfig
	blob(manifest.Config.Digest, &cfg)
	var size int64
	for _, l := range manifest.Layers {
		lf, err := os.Open(blob(l.Digest, nil))
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = lf
		switch {
		case strings.HasSuffix(l.MediaType, "+gzip"):
			if r, err = gzip.NewReader(lf); err != nil {
				t.Fatalf("layer %s: %v", l.Digest, err)
			}
		case strings.HasSuffix(l.MediaType, ".tar"):
		default:
			t.Fatalf("layer %s: media type %s not handled", l.Digest, l.MediaType)
		}
		n, err := extract(tar.NewReader(r), dir)
		_ = lf.Close()
		if err != nil {
			t.Fatalf("layer %s: %v", l.Digest, err)
		}
		size += n
	}
	return cfg, size
}

// extract writes a tar stream into dir with its modes, owners and links,
// applying OCI whiteouts, and returns the bytes of its regular files.
func extract(tr *tar.Reader, dir string) (int64, error) {
	var size int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return size, nil
		}
		if err != nil {
			return size, err
		}
		name := filepath.Clean(h.Name)
		if name == "." || strings.HasPrefix(name, "..") || filepath.IsAbs(name) {
			continue
		}
		path := filepath.Join(dir, name)
		if base := filepath.Base(name); strings.HasPrefix(base, ".wh.") {
			_ = os.RemoveAll(filepath.Join(filepath.Dir(path), strings.TrimPrefix(base, ".wh.")))
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return size, err
		}
		mode := h.FileInfo().Mode()
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o755); err != nil {
				return size, err
			}
		case tar.TypeReg:
			_ = os.RemoveAll(path)
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return size, err
			}
			n, err := io.Copy(f, tr)
			size += n
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return size, err
			}
		case tar.TypeSymlink:
			_ = os.RemoveAll(path)
			if err := os.Symlink(h.Linkname, path); err != nil {
				return size, err
			}
		case tar.TypeLink:
			_ = os.RemoveAll(path)
			if err := os.Link(filepath.Join(dir, filepath.Clean(h.Linkname)), path); err != nil {
				return size, err
			}
		default:
			continue
		}
		if err := os.Lchown(path, h.Uid, h.Gid); err != nil {
			return size, err
		}
		if h.Typeflag != tar.TypeSymlink {
			if err := os.Chmod(path, mode.Perm()|mode&(os.ModeSticky|os.ModeSetuid|os.ModeSetgid)); err != nil {
				return size, err
			}
		}
	}
}
