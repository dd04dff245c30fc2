package economics

import "github.com/flopcast/flopcast/model"

// trainFLOPsPerToken is the model's FLOPs per trained token, as the
// estimator counts them.
func trainFLOPsPerToken(m model.Config, seqLen int) float64 { return m.TrainFLOPsPerToken(seqLen) }
