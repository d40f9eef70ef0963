// Package host finds sbx backend plugins, starts them, and talks to them. It
// is the Go API for programs that embed sbx (coding-agent harnesses, CI
// tools), and the one path the sbx CLI itself uses to reach a backend.
//
// # Finding plugins
//
// A backend called NAME is served by the plugin binary sbx-backend-NAME, or
// by sbx-backend-PREFIX where PREFIX is NAME up to its first '-' (so
// linux-landlock and linux-namespaces are both served by
// sbx-backend-linux). Binaries are looked up in the directory of the running
// executable (where `make build` installs the built-in ones), then in
// $SBX_PLUGIN_PATH, then in [Options.Dirs]. A plugin can be pinned to a
// SHA-256 checksum ([Options.Pins]); go-plugin checks it before running it.
//
// # Example
//
//	h := host.New(host.Options{})
//	defer h.Close()
//	p := core.DefaultPolicy("/home/me/project")
//	res, err := h.Run(ctx, "linux", &core.RunRequest{
//		Policy: p,
//		Argv:   []string{"git", "status"},
//		Env:    os.Environ(),
//		Stdin:  os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
//		Diagnostics: os.Stderr,
//	})
//	if errors.Is(err, core.ErrNotEnforced) {
//		// the backend cannot hold the policy on this host
//	}
//
// Errors keep their core class across the plugin boundary: errors.Is(err,
// core.ErrNotEnforced) and errors.As(err, &*core.PolicyError) work here as
// in the plugin. A plugin that dies mid-run gives an error matching
// core.ErrBackendExited.
//
// # Process lifetime
//
// Plugins run in their own session with SIGTERM as their parent-death
// signal: if the embedding process dies, each plugin kills the process trees
// of its runs and exits. With [Options.Subreaper] (the CLI sets it), what a
// crashed plugin leaves behind is reparented to this process and killed.
package host
