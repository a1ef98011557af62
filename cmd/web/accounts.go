package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"ecsdash/internal/config"
	"ecsdash/internal/ecs"
)

// needsBase reports whether an account is reached by a role, which is
// assumed with the base credentials of the standard chain.
func needsBase(specs []ecs.AccountSpec) bool {
	return slices.ContainsFunc(specs, func(a ecs.AccountSpec) bool { return a.RoleARN != "" })
}

// connectAccounts builds the client over the --accounts file's accounts:
// role accounts through STS with the base credentials (src), key accounts
// with the keys in their variables; each account's regions are its own,
// else --regions, else what DescribeRegions lists for it.
func connectAccounts(ctx context.Context, cfg *config.Config, getenv func(string) string, logger *slog.Logger,
	src ecs.CredentialSource, observe func(action, code string, attempt int, d time.Duration)) (*ecs.Client, error) {
	var sts *ecs.STS
	if needsBase(cfg.Accounts) {
		var err error
		if sts, err = ecs.NewSTS(ecs.STSOptions{Endpoint: cfg.STSEndpoint, Credential: src.Credential, Timeout: cfg.ECSTimeout}); err != nil {
			return nil, err
		}
	}
	var accounts []ecs.Options
	for _, spec := range cfg.Accounts {
		o := ecs.Options{Account: spec.Name, AccountID: spec.UID(), RoleARN: spec.RoleARN, ExternalID: spec.ExternalID, STS: sts,
			Endpoint: cfg.ECSEndpoint, Timeout: cfg.ECSTimeout, Observe: observe, Regions: spec.Regions}
		if spec.RoleARN == "" {
			id, secret := getenv(spec.AccessKeyIDEnv), getenv(spec.AccessKeySecretEnv)
			if id == "" || secret == "" {
				return nil, fmt.Errorf("account %s: set %s and %s to its AccessKey pair (the accounts file names them)", spec.Name, spec.AccessKeyIDEnv, spec.AccessKeySecretEnv)
			}
			cred, err := ecs.StaticCredential(id, secret)
			if err != nil {
				return nil, fmt.Errorf("account %s: %w", spec.Name, err)
			}
			o.Credential = cred
		}
		if len(o.Regions) == 0 {
			o.Regions = cfg.Regions
		}
		if len(o.Regions) == 0 {
			dctx, cancel := context.WithTimeout(ctx, 3*cfg.ECSTimeout)
			regions, err := ecs.DiscoverRegions(dctx, o)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("account %s has no regions in the accounts file nor --regions, and asking ECS for its regions failed: %w", spec.Name, err)
			}
			o.Regions = regions
		}
		logger.Info("account", "name", spec.Name, "by", map[bool]string{true: "role", false: "own keys"}[spec.RoleARN != ""], "regions", o.Regions)
		accounts = append(accounts, o)
	}
	return ecs.New(ecs.Options{Accounts: accounts, Endpoint: cfg.ECSEndpoint, Timeout: cfg.ECSTimeout, Observe: observe, STS: sts})
}
