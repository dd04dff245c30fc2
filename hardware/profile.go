package hardware

// Profile is a chip's measured efficiency, fitted by `flopcast calibrate`
// from a GPU measurement. When a run names a profile (cluster.profile), the
// estimator uses Profile.GEMM instead of the catalog's default GEMMModel.
type Profile struct {
	// Chip is the catalog chip this profile describes (h100-sxm).
	Chip string `yaml:"chip" json:"chip"`
	// Device is the device name the measurement reported
	// ("NVIDIA H100 80GB HBM3").
	Device string `yaml:"device" json:"device"`
	// Measured is the measurement date; Origin says which file it came from.
	Measured string `yaml:"measured" json:"measured"`
	Origin   string `yaml:"origin" json:"origin"`
	// GEMM is the fitted efficiency model.
	GEMM GEMMModel `yaml:"gemm" json:"gemm"`
	// Fit quality: mean and worst relative error of the fitted GEMM and
	// attention times against the measured points.
	GEMMFitMeanErr  float64 `yaml:"gemm_fit_mean_err" json:"gemm_fit_mean_err"`
	GEMMFitWorstErr float64 `yaml:"gemm_fit_worst_err" json:"gemm_fit_worst_err"`
	AttnFitMeanErr  float64 `yaml:"attn_fit_mean_err" json:"attn_fit_mean_err"`
	Points          int     `yaml:"points" json:"points"`
}
