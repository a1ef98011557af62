package ecs

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aliyun/credentials-go/credentials"
	"github.com/aliyun/credentials-go/credentials/providers"
)

// ErrNoCredentials means no credentials were found without asking the network.
var ErrNoCredentials = errors.New("no Alibaba Cloud credentials found")

// CredentialSource says where credentials come from, for the log (never the secret).
type CredentialSource struct {
	Name       string // "environment", "cli-profile", "profile", "ecs-ram-role"
	Credential credentials.Credential
	// Renew builds the credential again from the same source (for
	// Options.Renew): a role or profile fetches a fresh token.
	Renew func() (credentials.Credential, error)
}

// DetectCredentials walks the standard chain's offline steps: environment
// variables, then the CLI's profile file, then the credentials file. The ECS
// RAM-role step asks the metadata service at 100.100.100.200, so it is taken
// only when the operator names a role (ramRole) or sets
// ALIBABA_CLOUD_ECS_METADATA; it is never reached by falling through.
func DetectCredentials(getenv func(string) string, ramRole string) (CredentialSource, error) {
	src, err := detect(getenv, ramRole)
	if err != nil {
		return src, err
	}
	src.Renew = func() (credentials.Credential, error) {
		again, err := detect(getenv, ramRole)
		return again.Credential, err
	}
	return src, nil
}

func detect(getenv func(string) string, ramRole string) (CredentialSource, error) {
	if id, secret := getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"), getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET"); id != "" && secret != "" {
		var p providers.CredentialsProvider
		var err error
		if token := getenv("ALIBABA_CLOUD_SECURITY_TOKEN"); token != "" {
			p, err = providers.NewStaticSTSCredentialsProviderBuilder().WithAccessKeyId(id).WithAccessKeySecret(secret).WithSecurityToken(token).Build()
		} else {
			p, err = providers.NewStaticAKCredentialsProviderBuilder().WithAccessKeyId(id).WithAccessKeySecret(secret).Build()
		}
		if err != nil {
			return CredentialSource{}, err
		}
		return CredentialSource{Name: "environment", Credential: credentials.FromCredentialsProvider("environment", p)}, nil
	}
	if role := firstNonEmpty(ramRole, getenv("ALIBABA_CLOUD_ECS_METADATA")); role != "" {
		p, err := providers.NewECSRAMRoleCredentialsProviderBuilder().WithRoleName(role).Build()
		if err != nil {
			return CredentialSource{}, err
		}
		return CredentialSource{Name: "ecs-ram-role", Credential: credentials.FromCredentialsProvider("ecs_ram_role", p)}, nil
	}
	home := getenv("HOME")
	if home != "" && getenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED") != "true" && fileExists(filepath.Join(home, ".aliyun", "config.json")) {
		p, err := providers.NewCLIProfileCredentialsProviderBuilder().WithProfileName(getenv("ALIBABA_CLOUD_PROFILE")).Build()
		if err == nil {
			return CredentialSource{Name: "cli-profile", Credential: credentials.FromCredentialsProvider("cli_profile", p)}, nil
		}
	}
	file := getenv("ALIBABA_CLOUD_CREDENTIALS_FILE")
	if file == "" && home != "" {
		file = filepath.Join(home, ".alibabacloud", "credentials")
	}
	if file != "" && fileExists(file) {
		// The provider reads ALIBABA_CLOUD_CREDENTIALS_FILE or the same default path itself.
		p, err := providers.NewProfileCredentialsProviderBuilder().WithProfileName(getenv("ALIBABA_CLOUD_PROFILE")).Build()
		if err == nil {
			return CredentialSource{Name: "profile", Credential: credentials.FromCredentialsProvider("profile", p)}, nil
		}
	}
	return CredentialSource{}, ErrNoCredentials
}

// StaticCredential is an access-key pair, as the demo and tests use against
// the simulator.
func StaticCredential(id, secret string) (credentials.Credential, error) {
	p, err := providers.NewStaticAKCredentialsProviderBuilder().WithAccessKeyId(id).WithAccessKeySecret(secret).Build()
	if err != nil {
		return nil, err
	}
	return credentials.FromCredentialsProvider("static_ak", p), nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// renewable is the credential every SDK client of a Client signs with; it
// can be replaced by one built again from its source when ECS says that its
// security token expired (a provider that caches a token by its own clock
// would otherwise keep sending it).
type renewable struct {
	cur   atomic.Pointer[credentials.Credential]
	build func() (credentials.Credential, error)

	mu      sync.Mutex
	renewed time.Time
}

func newRenewable(c credentials.Credential, build func() (credentials.Credential, error)) *renewable {
	r := &renewable{build: build}
	r.cur.Store(&c)
	return r
}

// renew replaces the credential, at most once every few seconds however
// many calls fail together; it reports whether a retry may now succeed.
func (r *renewable) renew() bool {
	if r.build == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.renewed) < 5*time.Second {
		return true // renewed just now by another call
	}
	c, err := r.build()
	if err != nil || c == nil {
		return false
	}
	r.cur.Store(&c)
	r.renewed = time.Now()
	return true
}

func (r *renewable) get() credentials.Credential { return *r.cur.Load() }

// The deprecated getters answer from GetCredential, as the SDK now asks.
func (r *renewable) GetAccessKeyId() (*string, error) {
	m, err := r.GetCredential()
	if err != nil {
		return nil, err
	}
	return m.AccessKeyId, nil
}

func (r *renewable) GetAccessKeySecret() (*string, error) {
	m, err := r.GetCredential()
	if err != nil {
		return nil, err
	}
	return m.AccessKeySecret, nil
}

func (r *renewable) GetSecurityToken() (*string, error) {
	m, err := r.GetCredential()
	if err != nil {
		return nil, err
	}
	return m.SecurityToken, nil
}

func (r *renewable) GetBearerToken() *string { return r.get().GetBearerToken() }
func (r *renewable) GetType() *string        { return r.get().GetType() }
func (r *renewable) GetCredential() (*credentials.CredentialModel, error) {
	return r.get().GetCredential()
}

// stsCredential is a temporary key with its security token.
func stsCredential(id, secret, token string) (credentials.Credential, error) {
	p, err := providers.NewStaticSTSCredentialsProviderBuilder().WithAccessKeyId(id).WithAccessKeySecret(secret).WithSecurityToken(token).Build()
	if err != nil {
		return nil, err
	}
	return credentials.FromCredentialsProvider("sts", p), nil
}
