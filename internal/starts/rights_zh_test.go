package starts_test

import (
	"regexp"
	"strings"
	"testing"

	"ecsdash/internal/i18n"
	"ecsdash/internal/scope"
	"ecsdash/internal/starts"
	"ecsdash/internal/users"
)

// TestRightsRefusalsAreSaidWhollyInChinese: a refusal for the role or the
// scope is said in Chinese with its arguments in Chinese too (the role's
// name, the permission's verb), not an English word inside a Chinese
// sentence; only the instance's id, its region and the scope stay as typed.
func TestRightsRefusalsAreSaidWhollyInChinese(t *testing.T) {
	if err := i18n.Load(); err != nil {
		t.Fatal(err)
	}
	zh := i18n.For(i18n.Chinese)
	r := newRig(t, starts.PolicyNone)
	inst := r.ecs.instances[stoppedID]
	both := starts.Actor{User: "vera", Grants: []users.Grant{
		{User: "vera", Role: users.RoleViewer},
		{User: "vera", Role: users.RoleOperator, Scope: scope.MustParse("region=cn-shanghai")},
	}}
	viewerOnly := starts.Actor{User: "vera", Role: users.RoleViewer}
	english := regexp.MustCompile(`\b(see|start|approve|reject|export|administer|viewer|operator|approver|admin|and|none|outside|role)\b`)
	for name, c := range map[string]struct {
		a    starts.Actor
		p    users.Perm
		want string
	}{
		"role may not start":   {viewerOnly, users.PermStart, "您的角色（只读用户）不能启动实例。"},
		"role may not approve": {viewerOnly, users.PermDecide, "您的角色（只读用户）不能审批实例的启动申请。"},
		"role may not export":  {viewerOnly, users.PermExport, "您的角色（只读用户）不能导出实例的审计日志。"},
		"outside the scope":    {both, users.PermStart, "不在您可启动的范围内"},
	} {
		x := starts.May(c.a, c.p, inst)
		if x.OK {
			t.Fatalf("%s: allowed", name)
		}
		got := x.WhyIn(zh)
		if !strings.Contains(got, c.want) || english.MatchString(strings.ReplaceAll(got, inst.ID, "")) {
			t.Errorf("%s: %q, want it to say %q and no English word", name, got, c.want)
		}
		if x.WhyIn(i18n.For(i18n.English)) != x.Why {
			t.Errorf("%s: in English %q, not its Why %q", name, x.WhyIn(i18n.For(i18n.English)), x.Why)
		}
	}
}
