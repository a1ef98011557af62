package ecs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// AccountSpec is one account of the --accounts file: reached by assuming
// RoleARN with the base credentials, or with keys of its own read from the
// named environment variables.
type AccountSpec struct {
	Name               string   `yaml:"name"`
	RoleARN            string   `yaml:"role_arn"`
	ExternalID         string   `yaml:"external_id"`
	Regions            []string `yaml:"regions"`
	AccessKeyIDEnv     string   `yaml:"access_key_id_env"`
	AccessKeySecretEnv string   `yaml:"access_key_secret_env"`
}

// UID is the account's id, from its role ARN ("" for a key account).
func (a AccountSpec) UID() string {
	if m := roleARN.FindStringSubmatch(a.RoleARN); m != nil {
		return m[1]
	}
	return ""
}

var (
	roleARN     = regexp.MustCompile(`^acs:ram::([0-9]{1,32}):role/([A-Za-z0-9.@_-]{1,64})$`)
	accountName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$`)
	regionID    = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)
	envName     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// LoadAccounts reads and checks an --accounts file.
func LoadAccounts(path string) ([]AccountSpec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("accounts file: %w", err)
	}
	specs, err := ParseAccounts(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("accounts file %s: %w", path, err)
	}
	return specs, nil
}

// ParseAccounts decodes the accounts YAML strictly: an unknown key, a
// duplicate name or an account reached both ways (or neither) is refused
// in words.
func ParseAccounts(r io.Reader) ([]AccountSpec, error) {
	var doc struct {
		Accounts []AccountSpec `yaml:"accounts"`
	}
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("it is empty; it needs an 'accounts:' list")
		}
		return nil, fmt.Errorf("it is not the accounts YAML (accounts: a list of name, role_arn or access_key_id_env and access_key_secret_env, regions, external_id): %w", err)
	}
	if len(doc.Accounts) == 0 {
		return nil, errors.New("it names no accounts")
	}
	seen := map[string]bool{}
	for i, a := range doc.Accounts {
		where := fmt.Sprintf("account %d (%q)", i+1, a.Name)
		switch {
		case !accountName.MatchString(a.Name):
			return nil, fmt.Errorf("%s: a name is 1 to 40 letters, digits, '.', '_' or '-', starting with a letter or digit", where)
		case seen[strings.ToLower(a.Name)]:
			return nil, fmt.Errorf("%s: the name is used twice", where)
		case a.RoleARN != "" && (a.AccessKeyIDEnv != "" || a.AccessKeySecretEnv != ""):
			return nil, fmt.Errorf("%s: give either role_arn or access_key_id_env and access_key_secret_env, not both", where)
		case a.RoleARN == "" && (a.AccessKeyIDEnv == "" || a.AccessKeySecretEnv == ""):
			return nil, fmt.Errorf("%s: give role_arn, or both access_key_id_env and access_key_secret_env", where)
		case a.RoleARN != "" && !roleARN.MatchString(a.RoleARN):
			return nil, fmt.Errorf("%s: role_arn %q is not acs:ram::ACCOUNT-ID:role/ROLE-NAME", where, a.RoleARN)
		case a.RoleARN == "" && (!envName.MatchString(a.AccessKeyIDEnv) || !envName.MatchString(a.AccessKeySecretEnv)):
			return nil, fmt.Errorf("%s: access_key_id_env and access_key_secret_env name environment variables (letters, digits, '_'), not the keys themselves", where)
		case a.ExternalID != "" && a.RoleARN == "":
			return nil, fmt.Errorf("%s: external_id applies only to a role_arn account", where)
		case len(a.ExternalID) > 1224:
			return nil, fmt.Errorf("%s: external_id is longer than STS accepts", where)
		}
		for _, r := range a.Regions {
			if !regionID.MatchString(r) {
				return nil, fmt.Errorf("%s: %q is not a region id such as cn-hangzhou", where, r)
			}
		}
		seen[strings.ToLower(a.Name)] = true
	}
	return doc.Accounts, nil
}

// ListingSession is the RoleSessionName of the dashboard's own calls
// (listing, status), which no person asked for.
const ListingSession = "ecs-dashboard"

var sessionChars = regexp.MustCompile(`[^A-Za-z0-9.@_-]`)

// SessionName makes a dashboard user's name a valid STS RoleSessionName
// (letters, digits and ".@-_", 2 to 64 characters), so that ActionTrail
// names the person. A name already valid is kept as it is; any other gets
// its invalid characters replaced by '_' and a short hash of the whole name
// appended, so two different names never share a session name by accident
// and the same name always maps to the same one.
func SessionName(user string) string {
	if len(user) >= 2 && len(user) <= 64 && !sessionChars.MatchString(user) {
		return user
	}
	sum := sha256.Sum256([]byte(user))
	tag := "-" + hex.EncodeToString(sum[:4])
	base := sessionChars.ReplaceAllString(user, "_")
	if base == "" {
		base = "u"
	}
	if max := 64 - len(tag); len(base) > max {
		base = base[:max]
	}
	return base + tag
}
