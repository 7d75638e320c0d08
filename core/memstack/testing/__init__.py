"""Test support for plugins: loopback fakes of remote APIs (`http_fake`). Stdlib only; never
imported by `import memstack`."""
