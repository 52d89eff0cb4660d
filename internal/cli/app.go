// Package cli is the consento command line: one file per command.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/config"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/netx"
	"github.com/consento/consento/internal/secrets"
	"github.com/consento/consento/internal/store"
)

// Run runs the consento command line and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var flags []cli.Flag
	for _, o := range config.Options {
		flags = append(flags, &cli.StringFlag{Name: o.Flag, Value: o.Default, Usage: o.Usage, Sources: cli.EnvVars(o.Env)})
	}
	root := &cli.Command{
		Name:      "consento",
		Usage:     "GDPR consent ledger and data-subject rights",
		Flags:     flags,
		Writer:    stdout,
		ErrWriter: stderr,
		Before:    readSecretFiles,
		Commands: []*cli.Command{
			serveCommand(), migrateCommand(), userCommand(), tokenCommand(), importCommand(),
			checkCommand(), auditCommand(), backupCommand(), benchCommand(),
			importRecordsCommand(), rightsCommand(),
			keysCommand(),
			retentionCommand(),
		},
		ExitErrHandler: func(context.Context, *cli.Command, error) {},
	}
	if err := root.Run(ctx, args); err != nil {
		// A command that has told the user what went wrong already returns
		// reported(code): only its exit code is left to pass on.
		if msg := strings.TrimSpace(message(err)); msg != "" {
			fmt.Fprintln(stderr, "consento:", msg)
		}
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			return ec.ExitCode()
		}
		return 1
	}
	return 0
}

// message is what the command line prints for err: a refused input with
// the fields it names, never an internal error text in their place.
func message(err error) string {
	msg := err.Error()
	de, ok := ledger.AsError(err)
	if !ok {
		return msg
	}
	if !strings.Contains(msg, de.Error()) { // a text the database refused
		return describe(de).Error()
	}
	return strings.Replace(msg, de.Error(), describe(de).Error(), 1)
}

// reported is the error of a command that has printed its failure itself
// (for example audit verify's report of a broken chain): Run exits with
// code and prints nothing more.
func reported(code int) error { return cli.Exit("", code) }

// readSecretFiles fills secret settings from <ENV>_FILE when not set otherwise.
func readSecretFiles(ctx context.Context, cmd *cli.Command) (context.Context, error) {
	for _, o := range config.Options {
		if !o.Secret || cmd.IsSet(o.Flag) {
			continue
		}
		path := os.Getenv(o.Env + "_FILE")
		if path == "" {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return ctx, fmt.Errorf("%s_FILE: %w", o.Env, err)
		}
		if err := cmd.Set(o.Flag, strings.TrimSpace(string(b))); err != nil {
			return ctx, err
		}
	}
	return ctx, nil
}

func loadConfig(cmd *cli.Command) (config.Config, error) {
	c := config.Config{
		Addr: cmd.String("addr"), DataDir: cmd.String("data-dir"), DatabaseURL: cmd.String("database-url"),
		PublicURL: cmd.String("public-url"), LogLevel: cmd.String("log-level"),
		ControllerName: cmd.String("controller-name"), ControllerContact: cmd.String("controller-contact"),
		PrivacyNoticeURL: cmd.String("privacy-notice-url"),
		BlocklistSecret:  cmd.String("blocklist-secret"),
	}
	c.MasterKey = cmd.String("master-key")
	c.SMTPURL, c.MailFrom, c.MailRate = cmd.String("smtp-url"), cmd.String("mail-from"), parseRate(cmd.String("mail-rate"))
	c.MailRetentionDays = parseDays(cmd.String("mail-retention-days"))
	c.RetentionInterval = parseInterval(cmd.String("retention-interval"))
	c.TimeZone = cmd.String("timezone")
	proxies, err := netx.ParseProxies(cmd.String("trusted-proxies"))
	if err != nil {
		return c, fmt.Errorf("invalid configuration:\n--trusted-proxies / CONSENTO_TRUSTED_PROXIES: %w", err)
	}
	c.TrustedProxies = proxies
	c.Webhooks = config.ParseWebhookConfig(cmd.String("webhook-workers"), cmd.String("webhook-allow-http"), cmd.String("webhook-allow-private"), cmd.String("webhook-retention-days"))
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("invalid configuration:\n%w", err)
	}
	i18n.SetZone(c.Location)
	return c, nil
}

// env is what most commands need: configuration, database and services.
type env struct {
	cfg    config.Config
	db     *store.DB
	ledger *ledger.Service
	auth   *auth.Service
	log    *slog.Logger
	// secrets is nil on PostgreSQL without CONSENTO_MASTER_KEY.
	secrets *secrets.Service
}

// openEnv validates the configuration, opens the database and migrates it
// (migrate=true) or checks that its schema is current.
func openEnv(ctx context.Context, cmd *cli.Command, migrate bool) (*env, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	level, _ := cfg.Level()
	log := slog.New(slog.NewTextHandler(cmd.Root().ErrWriter, &slog.HandlerOptions{Level: level}))
	db, err := store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir})
	if err != nil {
		return nil, err
	}
	if migrate {
		if applied, err := db.Migrate(ctx); err != nil {
			db.Close()
			return nil, err
		} else if len(applied) > 0 {
			log.Info("database migrated", "versions", applied, "database", cfg.Redacted())
		}
	} else if err := db.CheckSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	l := ledger.New(db)
	l.SetBlocklistSecret([]byte(cfg.BlocklistSecret))
	if err := l.Seed(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := l.CheckBlocklistSecret(ctx); err != nil {
		db.Close()
		return nil, err
	}
	sec, err := openSecrets(ctx, cfg, db, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	if sec != nil {
		l.SetVault(sec)
	}
	return &env{cfg: cfg, db: db, ledger: l, auth: auth.New(db), log: log, secrets: sec}, nil
}

func (e *env) Close() { e.db.Close() }
