package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/flopcast/flopcast"
	"go.yaml.in/yaml/v3"
)

// Recompute is the set of modules whose activations are recomputed in the
// backward pass instead of kept, as Megatron-Core's recompute_modules
// names them, or RecomputeFull (whole layers, --recompute-granularity
// full).
type Recompute uint16

// Recompute modules (bits) and the named sets.
const (
	RecomputeCoreAttn      Recompute = 1 << iota // core_attn: softmax(QKᵀ)V
	RecomputeLayerNorm                           // layernorm: the input norms of attention and FFN
	RecomputeMLAUpProj                           // mla_up_proj: MLA's query and key-value up-projections
	RecomputeMLP                                 // mlp: the dense FFN
	RecomputeMoEAct                              // moe_act: the experts' activation function
	RecomputeMoE                                 // moe: the whole MoE layer
	RecomputeSharedExperts                       // shared_experts: the shared experts' FFN
	RecomputeFull                                // full: whole transformer layers
	// RecomputeOp is torchtitan's per-op selective activation
	// checkpointing (activation_checkpoint.selective_ac_option "op"): a
	// layer saves the outputs of its attention kernel and of every other
	// matmul (the 1st, 3rd, ... in forward order) and recomputes the rest
	// (torchtitan models/llama3/parallelize.py, _save_list and
	// _custom_policy).
	RecomputeOp

	// RecomputeNone keeps every activation.
	RecomputeNone Recompute = 0
	// RecomputeSelective is Megatron's selective recompute: core attention.
	RecomputeSelective = RecomputeCoreAttn
)

// recomputeModules are the module names in bit order.
var recomputeModules = [...]string{"core_attn", "layernorm", "mla_up_proj", "mlp", "moe_act", "moe", "shared_experts"}

const recomputeAllowed = "none, selective, full, op, or a list of core_attn, layernorm, mla_up_proj, mlp, moe_act, moe, shared_experts"

// Has reports whether every module of m is recomputed.
func (r Recompute) Has(m Recompute) bool { return r&m == m }

// Modules lists the module names of the set, in Megatron-Core's order.
func (r Recompute) Modules() []string { return bitNames(uint(r), recomputeModules[:]) }

// bitNames lists names[i] for each bit i set in bits.
func bitNames(bits uint, names []string) []string {
	var out []string
	for i, n := range names {
		if bits&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// String is the set's text form: none, selective, full, op, or a comma list
// of module names.
func (r Recompute) String() string {
	switch r {
	case RecomputeNone:
		return "none"
	case RecomputeSelective:
		return "selective"
	case RecomputeFull:
		return "full"
	case RecomputeOp:
		return "op"
	}
	if r >= RecomputeFull {
		return fmt.Sprintf("Recompute(%#x)", uint16(r))
	}
	return strings.Join(r.Modules(), ",")
}

// ParseRecompute reads the text form: none, selective, full, op, or a comma
// list of module names (selective stands for core_attn inside a list).
func ParseRecompute(s string) (Recompute, error) {
	return parseRecompute(strings.Split(s, ","), s)
}

func parseRecompute(names []string, whole string) (Recompute, error) {
	var r Recompute
	bad := func(reason string) error {
		return &flopcast.FieldError{Field: "parallel.recompute", Value: strconv.Quote(whole), Reason: reason, Allowed: recomputeAllowed}
	}
	for _, n := range names {
		n = strings.TrimSpace(n)
		switch n {
		case "none", "full", "op":
			if len(names) > 1 {
				return 0, bad(n + " cannot be combined with other modules")
			}
			switch n {
			case "full":
				return RecomputeFull, nil
			case "op":
				return RecomputeOp, nil
			}
			return RecomputeNone, nil
		case "selective":
			r |= RecomputeSelective
			continue
		case "":
			return 0, bad("has an empty module name")
		}
		i := indexOf(recomputeModules[:], n)
		if i < 0 {
			return 0, bad("names an unknown module " + strconv.Quote(n))
		}
		r |= 1 << i
	}
	return r, nil
}

// MarshalText implements encoding.TextMarshaler.
func (r Recompute) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Recompute) UnmarshalText(b []byte) error {
	return decodeInto(r, parseRecompute, strings.Split(string(b), ","), string(b), nil)
}

// UnmarshalYAML accepts the text form or a list of names.
func (r *Recompute) UnmarshalYAML(n *yaml.Node) error {
	names, whole, err := stringOrList(n, "parallel.recompute", recomputeAllowed)
	return decodeInto(r, parseRecompute, names, whole, err)
}

// UnmarshalJSON accepts the text form or an array of names.
func (r *Recompute) UnmarshalJSON(b []byte) error {
	names, whole, err := stringOrArray(b, "parallel.recompute", recomputeAllowed)
	return decodeInto(r, parseRecompute, names, whole, err)
}

// Offload is the set of state a run moves to host memory: saved
// activations (between forward and backward) and optimizer states
// (between steps).
type Offload uint8

// Offload bits.
const (
	OffloadActivations Offload = 1 << iota
	OffloadOptimizer

	// OffloadNone keeps everything in device memory.
	OffloadNone Offload = 0
)

var offloadNames = [...]string{"activations", "optimizer"}

const offloadAllowed = "none, activations, optimizer, or a list [activations, optimizer]"

// Has reports whether every bit of o is set.
func (f Offload) Has(o Offload) bool { return f&o == o }

func (f Offload) String() string {
	if f == OffloadNone {
		return "none"
	}
	if f >= 1<<len(offloadNames) {
		return fmt.Sprintf("Offload(%#x)", uint8(f))
	}
	return strings.Join(bitNames(uint(f), offloadNames[:]), ",")
}

// ParseOffload reads none, activations, optimizer or a comma list.
func ParseOffload(s string) (Offload, error) { return parseOffload(strings.Split(s, ","), s) }

func parseOffload(names []string, whole string) (Offload, error) {
	var f Offload
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "none" && len(names) == 1 {
			return OffloadNone, nil
		}
		i := indexOf(offloadNames[:], n)
		if i < 0 {
			reason := "names an unknown kind " + strconv.Quote(n)
			if n == "none" {
				reason = "none cannot be combined with other kinds"
			}
			return 0, &flopcast.FieldError{Field: "parallel.offload", Value: strconv.Quote(whole), Reason: reason, Allowed: offloadAllowed}
		}
		f |= 1 << i
	}
	return f, nil
}

// MarshalText implements encoding.TextMarshaler.
func (f Offload) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (f *Offload) UnmarshalText(b []byte) error {
	return decodeInto(f, parseOffload, strings.Split(string(b), ","), string(b), nil)
}

// UnmarshalYAML accepts the text form or a list.
func (f *Offload) UnmarshalYAML(n *yaml.Node) error {
	names, whole, err := stringOrList(n, "parallel.offload", offloadAllowed)
	return decodeInto(f, parseOffload, names, whole, err)
}

// UnmarshalJSON accepts the text form or an array.
func (f *Offload) UnmarshalJSON(b []byte) error {
	names, whole, err := stringOrArray(b, "parallel.offload", offloadAllowed)
	return decodeInto(f, parseOffload, names, whole, err)
}

// Schedule is the pipeline schedule.
type Schedule uint8

// Pipeline schedules.
const (
	// Schedule1F1B is one-forward-one-backward (PipeDream-Flush, Megatron's
	// default without virtual stages).
	Schedule1F1B Schedule = iota
	// ScheduleInterleaved is Megatron's interleaved 1F1B over vpp virtual
	// stages per rank.
	ScheduleInterleaved
	// ScheduleDualPipe is DeepSeek's bidirectional schedule, which overlaps
	// a forward and a backward chunk (DeepSeek-V3 report §3.2.1).
	ScheduleDualPipe
)

var scheduleNames = [...]string{"1f1b", "interleaved", "dualpipe"}

func (s Schedule) String() string {
	if int(s) < len(scheduleNames) {
		return scheduleNames[s]
	}
	return fmt.Sprintf("Schedule(%d)", s)
}

// ParseSchedule maps a name to a schedule.
func ParseSchedule(s string) (Schedule, error) {
	if i := indexOf(scheduleNames[:], s); i >= 0 {
		return Schedule(i), nil
	}
	return 0, &flopcast.FieldError{Field: "parallel.pp_schedule", Value: strconv.Quote(s), Allowed: strings.Join(scheduleNames[:], ", ")}
}

// MarshalText implements encoding.TextMarshaler.
func (s Schedule) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Schedule) UnmarshalText(b []byte) error {
	v, err := ParseSchedule(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// DefaultSchedule is the schedule a layout gets when none is given:
// interleaved with virtual stages, else 1F1B.
func DefaultSchedule(vpp int) Schedule {
	if vpp > 1 {
		return ScheduleInterleaved
	}
	return Schedule1F1B
}

func indexOf(names []string, s string) int {
	for i, n := range names {
		if n == s {
			return i
		}
	}
	return -1
}

// decodeInto parses names into *dst unless reading them failed.
func decodeInto[T any](dst *T, parse func([]string, string) (T, error), names []string, whole string, err error) error {
	if err != nil {
		return err
	}
	v, err := parse(names, whole)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

// stringOrList reads a YAML scalar (split on commas) or a sequence of
// scalars.
func stringOrList(n *yaml.Node, field, allowed string) ([]string, string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return strings.Split(n.Value, ","), n.Value, nil
	case yaml.SequenceNode:
		var names []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				break
			}
			names = append(names, c.Value)
		}
		if len(names) == len(n.Content) && len(names) > 0 {
			return names, strings.Join(names, ","), nil
		}
	}
	return nil, "", &flopcast.FieldError{Field: field, Value: "(line " + strconv.Itoa(n.Line) + ")", Reason: "has the wrong type", Allowed: allowed}
}

// stringOrArray reads a JSON string (split on commas) or an array of
// strings.
func stringOrArray(b []byte, field, allowed string) ([]string, string, error) {
	b = bytes.TrimSpace(b)
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return strings.Split(s, ","), s, nil
	}
	var names []string
	if err := json.Unmarshal(b, &names); err == nil && len(names) > 0 {
		return names, strings.Join(names, ","), nil
	}
	return nil, "", &flopcast.FieldError{Field: field, Value: string(b), Reason: "has the wrong type", Allowed: allowed}
}

// Layout is one fully specified parallel layout. It is a plain value so the
// estimator and the search can copy it freely.
type Layout struct {
	TP int `json:"tp"`
	PP int `json:"pp"`
	DP int `json:"dp"`
	CP int `json:"cp"`
	EP int `json:"ep"`
	// ETP is the expert tensor-parallel size (Megatron-Core's
	// expert_tensor_parallel_size); experts fold over the dense layers'
	// ranks, so EP×ETP divides TP×CP×DP.
	ETP              int       `json:"etp"`
	VPP              int       `json:"vpp"`
	MicroBatch       int       `json:"micro_batch"`
	ZeRO             int       `json:"zero"`
	Recompute        Recompute `json:"recompute"`
	Offload          Offload   `json:"offload"`
	Schedule         Schedule  `json:"pp_schedule"`
	SequenceParallel bool      `json:"sequence_parallel"`
}

// MicroBatches is the number of micro-batches per pipeline per step.
func (l Layout) MicroBatches(globalBatch int) int {
	return globalBatch / (l.DP * l.MicroBatch)
}

// ExpertDP is the expert data-parallel size: the ranks of one pipeline
// stage (TP×CP×DP) over the experts' grid (EP×ETP).
func (l Layout) ExpertDP() int {
	return l.TP * l.CP * l.DP / (l.EP * l.ETP)
}

func (l Layout) String() string {
	var extra strings.Builder
	if l.ETP != l.TP {
		fmt.Fprintf(&extra, " etp%d", l.ETP)
	}
	if l.Schedule != DefaultSchedule(l.VPP) {
		fmt.Fprintf(&extra, " %s", l.Schedule)
	}
	if l.Offload != OffloadNone {
		fmt.Fprintf(&extra, " offload:%s", l.Offload)
	}
	sp := ""
	if l.SequenceParallel {
		sp = " sp"
	}
	return fmt.Sprintf("tp%d pp%d dp%d cp%d ep%d vpp%d mb%d zero%d %s%s%s",
		l.TP, l.PP, l.DP, l.CP, l.EP, l.VPP, l.MicroBatch, l.ZeRO, l.Recompute, sp, extra.String())
}
