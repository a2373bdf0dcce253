package httpnode

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
)

// Expressions are CEL (https://cel.dev) over one response, compiled and
// type-checked when a node is validated and evaluated by the activity that
// holds the response. Every expression sees
//
//	status   int                       the HTTP status code
//	headers  map(string, list(string)) the response headers, names in lower case
//	body     dyn                       the body parsed: JSON, or XML as LookupBody reads it; null when neither
//	text     string                    the body as text (as cut by maxResponseBytes; a stored body's first MiB)
//
// A body in the body store is seen whole, up to MaxParsedBodyBytes.
//
// and the expressions of a poll also
//
//	polls    int                       this poll's number, from 1
//	elapsed  duration                  the time since the wait began
//
// Rules (successWhen, failWhen, pendingWhen) are bools; outputs any value
// that JSON can hold.
const (
	// MaxExpressionBytes is the longest expression a node may give.
	MaxExpressionBytes = 4096
	// ExpressionCostLimit bounds one evaluation (CEL's cost units: about
	// one per operation and per element a list or string function visits),
	// so that no expression can run away.
	ExpressionCostLimit = 1_000_000
	// MaxOutputs is how many outputs a node may name; MaxOutputsBytes is
	// the most their JSON values may take together.
	MaxOutputs      = 64
	MaxOutputsBytes = 64 << 10
)

// ExprKind says where an expression is evaluated, and so which variables
// it sees.
type ExprKind string

const (
	ExprResponse ExprKind = "response" // the main request's response
	ExprPoll     ExprKind = "poll"     // a poll's response: also polls and elapsed
	// ExprWhen is a flow node's when: nodes (the upstream nodes' data by
	// id: status, statusCode, taskId, outputs, headers, body) and flow
	// (name, id, runId, scheduledTime).
	ExprWhen ExprKind = "when"
)

var (
	envOnce sync.Once
	envs    = map[ExprKind]*cel.Env{}
	envErr  error
)

// exprEnv is the CEL environment of kind.
func exprEnv(kind ExprKind) (*cel.Env, error) {
	envOnce.Do(func() {
		base := []cel.EnvOption{
			cel.Variable("status", cel.IntType),
			cel.Variable("headers", cel.MapType(cel.StringType, cel.ListType(cel.StringType))),
			cel.Variable("body", cel.DynType),
			cel.Variable("text", cel.StringType),
			ext.Strings(),
			ext.Encoders(),
			cel.OptionalTypes(),
		}
		envs[ExprResponse], envErr = cel.NewEnv(base...)
		if envErr == nil {
			envs[ExprPoll], envErr = cel.NewEnv(append(base, cel.Variable("polls", cel.IntType), cel.Variable("elapsed", cel.DurationType))...)
		}
		if envErr == nil {
			envs[ExprWhen], envErr = cel.NewEnv(cel.Variable("nodes", cel.MapType(cel.StringType, cel.DynType)),
				cel.Variable("flow", cel.MapType(cel.StringType, cel.StringType)), ext.Strings(), cel.OptionalTypes())
		}
	})
	if env, ok := envs[kind]; ok || envErr != nil {
		return env, envErr
	}
	return nil, fmt.Errorf("%q is not a kind of expression", kind)
}

// Expr is an expression compiled for evaluation.
type Expr struct{ prg cel.Program }

// exprCache holds compiled programs by kind and source: an activity judges
// many responses by the same few rules. Nodes are untrusted input, so the
// cache is bounded: past MaxCachedExprs, programs are compiled each time.
var exprCache = struct {
	sync.Mutex
	m map[exprKey]*Expr
}{m: map[exprKey]*Expr{}}

type exprKey struct {
	kind ExprKind
	rule bool
	src  string
}

// MaxCachedExprs bounds the compiled-expression cache.
const MaxCachedExprs = 1024

// CompileExpr compiles src for kind: a rule must be a bool. The error says
// what is wrong and where, without the field name (the caller adds it).
func CompileExpr(kind ExprKind, src string, rule bool) (*Expr, error) {
	key := exprKey{kind, rule, src}
	exprCache.Lock()
	e, ok := exprCache.m[key]
	exprCache.Unlock()
	if ok {
		return e, nil
	}
	e, err := compileExpr(kind, src, rule)
	if err != nil {
		return nil, err
	}
	exprCache.Lock()
	if len(exprCache.m) < MaxCachedExprs {
		exprCache.m[key] = e
	}
	exprCache.Unlock()
	return e, nil
}

func compileExpr(kind ExprKind, src string, rule bool) (*Expr, error) {
	if err := exprText(src, rule); err != nil {
		return nil, err
	}
	env, err := exprEnv(kind)
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		var msgs []string
		for _, e := range iss.Errors() {
			msg := e.Message
			if kind == ExprResponse && undeclaredPollVar.MatchString(msg) {
				msg += " (polls and elapsed are known to the callback's expressions only)"
			}
			msgs = append(msgs, fmt.Sprintf("%s at column %d", msg, e.Location.Column()+1))
		}
		return nil, fmt.Errorf("%q: %s", src, strings.Join(msgs, "; "))
	}
	if rule && ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return nil, fmt.Errorf("%q is a %s, not true or false (e.g. %s)", src, ast.OutputType(), exprExample(true))
	}
	prg, err := env.Program(ast, cel.CostLimit(ExpressionCostLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, fmt.Errorf("%q: %v", src, err)
	}
	return &Expr{prg: prg}, nil
}

var undeclaredPollVar = regexp.MustCompile(`undeclared reference to '(polls|elapsed)'`)

func exprExample(rule bool) string {
	if rule {
		return `body.code == 0`
	}
	return `body.data.url`
}

// Program is the compiled program, for the activities that evaluate it.
func (e *Expr) Program() cel.Program { return e.prg }

// FailRule is one entry of failWhen: when When is true of a response, the
// try fails with Message; Retry makes the failure retryable, as a 503 is.
type FailRule struct {
	When    string `json:"when"`
	Message string `json:"message"`
	Retry   bool   `json:"retry,omitempty"`
}

// validOutputName is what an output may be called: it is read as
// outputs.<name> by parents and later nodes.
var validOutputName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// ExprSpec is one of a node's expressions: where it is, where it is
// evaluated, and whether it is a rule.
type ExprSpec struct {
	Field string   `json:"field"`
	Kind  ExprKind `json:"kind"`
	Src   string   `json:"src"`
	Rule  bool     `json:"rule,omitempty"`
}

// Expressions lists the node's expressions, in field order.
func (n Node) Expressions() []ExprSpec {
	var out []ExprSpec
	rules := func(path string, r Request, kind ExprKind) {
		for i, f := range r.FailWhen {
			out = append(out, ExprSpec{fmt.Sprintf("%s.failWhen[%d].when", path, i), kind, f.When, true})
		}
		if r.SuccessWhen != "" {
			out = append(out, ExprSpec{path + ".successWhen", kind, r.SuccessWhen, true})
		}
	}
	rules("request", n.Request, ExprResponse)
	outputs := ExprResponse
	if cb := n.Callback; cb != nil {
		rules("callback", cb.Request, ExprPoll)
		if cb.PendingWhen != "" {
			out = append(out, ExprSpec{"callback.pendingWhen", ExprPoll, cb.PendingWhen, true})
		}
		outputs = ExprPoll
	}
	for _, name := range slices.Sorted(maps.Keys(n.Outputs)) {
		out = append(out, ExprSpec{"outputs." + name, outputs, n.Outputs[name], false})
	}
	return out
}

// CheckExpressions compiles and type-checks every expression of the node
// and returns a *ValidationError naming each that does not compile, or
// nil. Validate does not compile them (workflow code decodes nodes, and
// compiling is CEL's, not deterministic Go's): starter validate, test and
// run call this, and the main request's activity calls it before anything
// is sent.
func (n Node) CheckExpressions() error {
	return CheckExprs(n.Expressions())
}

// CheckExprs compiles specs; see CheckExpressions.
func CheckExprs(specs []ExprSpec) error {
	var errs []FieldError
	for _, e := range specs {
		if _, err := CompileExpr(e.Kind, e.Src, e.Rule); err != nil {
			errs = append(errs, FieldError{e.Field, err.Error()})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Problems: errs}
}

// exprText checks an expression's text: that it is there and not too
// long.
func exprText(src string, rule bool) error {
	switch {
	case strings.TrimSpace(src) == "":
		return fmt.Errorf("is empty (give a CEL expression, e.g. %s)", exprExample(rule))
	case len(src) > MaxExpressionBytes:
		return fmt.Errorf("is %d bytes, more than the %d an expression may have", len(src), MaxExpressionBytes)
	}
	return nil
}

// checkExprText is what Validate checks of an expression: its text
// (CheckExpressions compiles it).
func checkExprText(field, src string, rule bool, errs *[]FieldError) {
	if err := exprText(src, rule); err != nil {
		*errs = append(*errs, FieldError{field, err.Error()})
	}
}

// validateRules checks a request's failWhen rules under path.
func validateRules(path string, r Request, errs *[]FieldError) {
	add := adder(errs)
	for i, f := range r.FailWhen {
		p := fmt.Sprintf("%s.failWhen[%d]", path, i)
		checkExprText(p+".when", f.When, true, errs)
		if strings.TrimSpace(f.Message) == "" {
			add(p+".message", "is required: what the failure says when %q is true (e.g. \"quota exceeded\")", f.When)
		}
	}
	if r.SuccessWhen != "" {
		checkExprText(path+".successWhen", r.SuccessWhen, true, errs)
	}
}

// validateOutputs checks the node's output names and texts.
func validateOutputs(outputs map[string]string, errs *[]FieldError) {
	add := adder(errs)
	if len(outputs) > MaxOutputs {
		add("outputs", "names %d outputs, more than the %d a node may have", len(outputs), MaxOutputs)
	}
	for _, name := range slices.Sorted(maps.Keys(outputs)) {
		if !validOutputName.MatchString(name) {
			add("outputs", "%q is not an output name (use letters, digits and _, not starting with a digit, e.g. \"fileUrl\")", name)
			continue
		}
		checkExprText("outputs."+name, outputs[name], false, errs)
	}
}
