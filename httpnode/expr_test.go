package httpnode

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every expression is compiled when the node is validated: a problem names
// the field, shows the expression and says where it is wrong.
func TestValidate_Expressions(t *testing.T) {
	base := `{"request": {"url": "https://x.example", %s}, %s}`
	cases := []struct{ request, rest, want string }{
		{`"successWhen": "body.code =="`, `"retry": {}`, `request.successWhen: "body.code ==": Syntax error: mismatched input '<EOF>'`},
		{`"successWhen": "body.code == 0 &&"`, `"retry": {}`, "at column"},
		{`"successWhen": "polls > 3"`, `"retry": {}`, `request.successWhen: "polls > 3": undeclared reference to 'polls' (polls and elapsed are known to the callback's expressions only) at column 1`},
		{`"successWhen": "'ok'"`, `"retry": {}`, `request.successWhen: "'ok'" is a string, not true or false (e.g. body.code == 0)`},
		{`"successWhen": "status + 'x'"`, `"retry": {}`, `found no matching overload for '_+_' applied to '(int, string)'`},
		{`"successWhen": " "`, `"retry": {}`, `request.successWhen: is empty (give a CEL expression, e.g. body.code == 0)`},
		{`"failWhen": [{"when": "body.code == 1001"}]`, `"retry": {}`, `request.failWhen[0].message: is required: what the failure says when "body.code == 1001" is true`},
		{`"failWhen": [{"when": "body.code = 1", "message": "x"}]`, `"retry": {}`, `request.failWhen[0].when: "body.code = 1"`},
		{`"successWhen": "` + strings.Repeat("a", MaxExpressionBytes+1) + `"`, `"retry": {}`, "is 4097 bytes, more than the 4096 an expression may have"},
		{``, `"outputs": {"9lives": "body.x"}`, `outputs: "9lives" is not an output name`},
		{``, `"outputs": {"url": "body.data.url +"}`, `outputs.url: "body.data.url +"`},
		{``, `"outputs": {"polls": "polls"}`, `outputs.polls: "polls": undeclared reference to 'polls'`},
		{``, `"notify": {"url": "https://n.example", "successWhen": "true"}`, "notify.successWhen: successWhen and failWhen judge the main request and the callback's polls only"},
		{``, `"callback": {"url": "https://x.example/s", "successWhen": "body.state == 'DONE'", "pending": ["RUNNING"]}`, "callback.pending: pending and success lists and the rules pendingWhen / successWhen are two ways to judge a poll: use one"},
		{``, `"callback": {"url": "https://x.example/s", "pendingWhen": "body.state = 'RUNNING'"}`, `callback.pendingWhen: "body.state = 'RUNNING'"`},
		{``, `"callback": {"mode": "location"}, "outputs": {"a": "body.a"}`, `outputs: are not computed in mode "location" yet`},
		{``, `"callback": {"mode": "location", "failWhen": [{"when": "true", "message": "x"}]}`, `are not used in mode "location": location mode judges a 202's operation by its status code`},
	}
	for _, c := range cases {
		doc := strings.Replace(strings.Replace(base, "%s", c.request, 1), "%s", c.rest, 1)
		if c.request == "" {
			doc = strings.Replace(base, `, %s}, %s}`, `}, `+c.rest+`}`, 1)
		}
		require.ErrorContains(t, decodeAndCheck(doc), c.want, doc)
	}
}

// The callback's expressions see polls and elapsed; outputs of a node with
// a callback are computed over the final poll, so they see them too.
func TestValidate_PollExpressions(t *testing.T) {
	err := decodeAndCheck(`{"request": {"url": "https://x.example", "failWhen": [{"when": "body.code != 0", "message": "refused", "retry": false}]},
		"callback": {"url": "https://x.example/s", "successWhen": "size(body.items) == 0", "pendingWhen": "polls < 100 && elapsed < duration('1h')",
			"failWhen": [{"when": "body.state == 'FAILED'", "message": "the export failed"}]},
		"outputs": {"polls": "polls", "fileUrl": "has(body.file) ? body.file.url : null"}}`)
	require.NoError(t, err)
}

// decodeAndCheck is what starter validate does: Decode (which the workflow
// does too), then CheckExpressions (which the workflow leaves to the main
// request's activity).
func decodeAndCheck(doc string) error {
	n, err := Decode([]byte(doc))
	if err != nil {
		return err
	}
	return n.CheckExpressions()
}

// Decode does not compile expressions: workflow code decodes nodes.
func TestDecode_LeavesCompilingToCheckExpressions(t *testing.T) {
	n, err := Decode([]byte(`{"request": {"url": "https://x.example", "successWhen": "body.code =="}}`))
	require.NoError(t, err)
	require.ErrorContains(t, n.CheckExpressions(), `request.successWhen: "body.code ==": Syntax error`)
	require.Equal(t, []ExprSpec{{Field: "request.successWhen", Kind: ExprResponse, Src: "body.code ==", Rule: true}}, n.Expressions())
}

func TestCompileExpr_IsCached(t *testing.T) {
	a, err := CompileExpr(ExprResponse, "body.code == 0", true)
	require.NoError(t, err)
	b, err := CompileExpr(ExprResponse, "body.code == 0", true)
	require.NoError(t, err)
	require.Same(t, a, b)
}

// storeBody is for the main request and the callback's polls; a cancel or
// notify call's response is not kept.
func TestValidate_StoreBody(t *testing.T) {
	require.NoError(t, decodeAndCheck(`{"request": {"url": "https://x.example", "storeBody": true},
		"callback": {"url": "https://x.example/s", "storeBody": true}}`))
	for _, rest := range []string{`"notify": {"url": "https://n.example", "storeBody": true}`, `"cancel": {"url": "https://n.example", "storeBody": true}`} {
		doc := `{"request": {"url": "https://x.example"}, ` + rest + `}`
		field := strings.Split(rest, `"`)[1]
		require.ErrorContains(t, decodeAndCheck(doc), field+".storeBody: only the main request's and the callback's bodies go to the body store", doc)
	}
}
