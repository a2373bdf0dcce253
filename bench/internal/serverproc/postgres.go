package serverproc

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"

	"go.temporal.io/server/common/config"
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql" // the postgres12 plugin
	sqltool "go.temporal.io/server/tools/sql"
)

// postgres is a PostgreSQL server of Debian's postgresql package, in a
// directory of its own, on a port of its own, for one run.
type postgres struct {
	dir  string
	port int
	bin  string // the directory of initdb, pg_ctl
	as   []string
}

// Databases of the Temporal server on PostgreSQL.
const (
	pgUser       = "temporal"
	pgDB         = "temporal"
	pgVisibility = "temporal_visibility"
)

// startPostgres initializes a cluster in dir and starts it on a free port;
// as root it runs as the postgres user, which PostgreSQL requires.
func startPostgres(dir string) (*postgres, error) {
	bin, err := pgBin()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	pg := &postgres{dir: filepath.Join(dir, "pgdata"), port: port, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("PostgreSQL does not run as root, and there is no postgres user: %v", err)
		}
		if err := os.MkdirAll(pg.dir, 0o700); err != nil {
			return nil, err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(pg.dir, uid, gid); err != nil {
			return nil, err
		}
		_ = os.Chmod(dir, 0o755)
		pg.as = []string{"runuser", "-u", "postgres", "--"}
	}
	if err := pg.run("initdb", "-D", pg.dir, "-U", pgUser, "--auth=trust", "--no-sync"); err != nil {
		return nil, err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", port, pg.dir)
	if err := pg.run("pg_ctl", "-D", pg.dir, "-o", opts, "-l", filepath.Join(pg.dir, "server.log"), "-w", "start"); err != nil {
		return nil, err
	}
	// the schema tool logs every statement to standard output: into a file
	logf, err := os.Create(filepath.Join(dir, "schema.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	stdout := os.Stdout
	os.Stdout = logf
	defer func() { os.Stdout = stdout }()
	for _, db := range []struct{ name, schema string }{{pgDB, "postgresql/v12/temporal"}, {pgVisibility, "postgresql/v12/visibility"}} {
		base := []string{"temporal-sql-tool", "--plugin", "postgres12", "--ep", "127.0.0.1", "-p", strconv.Itoa(port), "-u", pgUser, "--db", db.name}
		for _, args := range [][]string{{"create-database"}, {"setup-schema", "-v", "0.0"}, {"update-schema", "--schema-name", db.schema}} {
			if err := sqltool.RunTool(append(append([]string{}, base...), args...)); err != nil {
				pg.stop()
				return nil, fmt.Errorf("PostgreSQL schema (%s %v): %v", db.name, args, err)
			}
		}
	}
	return pg, nil
}

func (pg *postgres) run(name string, args ...string) error {
	argv := append(append(append([]string{}, pg.as...), filepath.Join(pg.bin, name)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", name, err, out)
	}
	return nil
}

func (pg *postgres) stop() { _ = pg.run("pg_ctl", "-D", pg.dir, "-m", "fast", "-w", "stop") }

// pgStores are the Temporal server's SQL stores on pg.
func pgStores(port int) (store, visibility *config.SQL) {
	sql := func(db string) *config.SQL {
		return &config.SQL{PluginName: "postgres12", DatabaseName: db, ConnectAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			ConnectProtocol: "tcp", User: pgUser, MaxConns: 20, MaxIdleConns: 20}
	}
	return sql(pgDB), sql(pgVisibility)
}

// pgBin finds Debian's PostgreSQL programs.
func pgBin() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", fmt.Errorf("PostgreSQL is not installed: apt-get install postgresql (Debian's package), or run with --store sqlite")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}
