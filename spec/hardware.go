package spec

// ResolveHardware resolves only a model and a cluster block against the
// catalog, with the same checks and overrides as Resolve. Inputs other
// than run.yaml that share these two blocks (serve.yaml) use it; the
// returned Resolved has no training or layout.
func ResolveHardware(m ModelRef, c Cluster) (*Resolved, error) {
	r := &Resolved{}
	if err := r.resolveModel(m); err != nil {
		return nil, err
	}
	if err := r.resolveCluster(c); err != nil {
		return nil, err
	}
	return r, nil
}
