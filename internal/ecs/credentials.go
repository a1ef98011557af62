package ecs

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/aliyun/credentials-go/credentials"
	"github.com/aliyun/credentials-go/credentials/providers"
)

// ErrNoCredentials means no credentials were found without asking the network.
var ErrNoCredentials = errors.New("no Alibaba Cloud credentials found")

// CredentialSource says where credentials come from, for the log (never the secret).
type CredentialSource struct {
	Name       string // "environment", "cli-profile", "profile", "ecs-ram-role"
	Credential credentials.Credential
}

// DetectCredentials walks the standard chain's offline steps: environment
// variables, then the CLI's profile file, then the credentials file. The ECS
// RAM-role step asks the metadata service at 100.100.100.200, so it is taken
// only when the operator names a role (ramRole) or sets
// ALIBABA_CLOUD_ECS_METADATA; it is never reached by falling through.
func DetectCredentials(getenv func(string) string, ramRole string) (CredentialSource, error) {
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
		return CredentialSource{"environment", credentials.FromCredentialsProvider("environment", p)}, nil
	}
	if role := firstNonEmpty(ramRole, getenv("ALIBABA_CLOUD_ECS_METADATA")); role != "" {
		p, err := providers.NewECSRAMRoleCredentialsProviderBuilder().WithRoleName(role).Build()
		if err != nil {
			return CredentialSource{}, err
		}
		return CredentialSource{"ecs-ram-role", credentials.FromCredentialsProvider("ecs_ram_role", p)}, nil
	}
	home := getenv("HOME")
	if home != "" && getenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED") != "true" && fileExists(filepath.Join(home, ".aliyun", "config.json")) {
		p, err := providers.NewCLIProfileCredentialsProviderBuilder().WithProfileName(getenv("ALIBABA_CLOUD_PROFILE")).Build()
		if err == nil {
			return CredentialSource{"cli-profile", credentials.FromCredentialsProvider("cli_profile", p)}, nil
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
			return CredentialSource{"profile", credentials.FromCredentialsProvider("profile", p)}, nil
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
