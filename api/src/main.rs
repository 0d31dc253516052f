//! The `caregrade` binary: server and command-line tools.

mod rules_cli;

use caregrade::config::Config;
use caregrade::server::{self, StartError};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// caregrade: grading and inspection of elderly-care institutions.
#[derive(Debug, Parser)]
#[command(name = "caregrade", version)]
struct Cli {
    /// Configuration file (TOML); default `caregrade.toml` when present. `CAREGRADE_*`
    /// environment variables override it.
    #[arg(long, global = true, env = "CAREGRADE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve the API (migrates the database first).
    Serve {
        /// Load the demo region first (only into an empty registry).
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the demo region (湖南省长沙市) and print the demo users' credentials.
    Demo,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Rules-language tools: check, test, fmt, score.
    Rules(rules_cli::RulesArgs),
    /// The audit chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The 双随机 draw.
    #[command(subcommand)]
    Draw(DrawCommand),
}

#[derive(Debug, clap::Subcommand)]
enum DrawCommand {
    /// Recompute a published draw bit for bit: give the JSON saved from
    /// `/public/v1/draws/{plan}` (seed, rosters, policy source, result, replacements), or the
    /// three files POLICY.rules INPUT.json DRAW.json. Exit 0 verified, 1 different, 2 unreadable.
    Verify {
        /// One published-draw JSON, or POLICY INPUT DRAW.
        #[arg(required = true, num_args = 1..=3)]
        files: Vec<PathBuf>,
    },
}

fn draw_verify(files: &[PathBuf]) -> ExitCode {
    if let [policy, input, draw] = files {
        let out = caregrade_draw::verify_files(policy, input, draw);
        print!("{}", out.stdout);
        eprint!("{}", out.stderr);
        return ExitCode::from(out.code);
    }
    let [file] = files else {
        eprintln!("caregrade: give one published-draw JSON or POLICY INPUT DRAW");
        return ExitCode::from(2);
    };
    let published: caregrade::plans::PublishedDraw = match std::fs::read(file)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("caregrade: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    match caregrade::plans::verify_published(&published) {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("draw NOT verified: {e}");
            ExitCode::from(1)
        }
    }
}

#[derive(Debug, clap::Subcommand)]
enum AuditCommand {
    /// Recompute every link of the audit chain; exit 0 when intact, 1 naming the first broken
    /// link.
    Verify,
}

#[derive(Debug, clap::Subcommand)]
enum UserCommand {
    /// Add a user. The password is read from CAREGRADE_NEW_PASSWORD or generated and printed.
    Add {
        /// Login name.
        username: String,
        /// admin | inspector | institution.
        #[arg(long, default_value = "admin")]
        role: String,
        /// Region code prefix (admins, inspectors); empty for the whole country.
        #[arg(long)]
        region: Option<String>,
        /// Institution id (institution users).
        #[arg(long)]
        institution: Option<String>,
        /// Roster entry id (inspectors).
        #[arg(long)]
        inspector: Option<String>,
    },
    /// Disable a user: no login, and their tokens stop working at once.
    Disable {
        /// Login name.
        username: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// Login name.
        username: String,
    },
}

/// Sets up logging. Lines go to stdout through a background writer so that a slow terminal or
/// pipe never stalls a request worker; the guard flushes what is buffered when it is dropped, so
/// it must live until the process ends.
fn init_logs(config: &Config) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&config.log))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Not lossy: when the queue is full a worker waits rather than a log line being dropped.
    // The background thread drains the queue into the buffer and flushes once it is empty, so
    // under load many lines share one write.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stdout(),
        ));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(writer)
        .try_init();
    guard
}

fn run(cli: Cli) -> Result<(), StartError> {
    let config = Config::load(cli.config.as_deref())?;
    let _log_guard = init_logs(&config);
    match cli.command {
        Command::Rules(_) | Command::Draw(_) => Ok(()),
        Command::Migrate => {
            server::open_database(&config)?;
            println!("database is up to date");
            Ok(())
        }
        Command::Demo => {
            let pool = server::open_database(&config)?;
            let mut conn = pool.get().map_err(caregrade::db::DbError::from)?;
            let summary =
                caregrade::demo::load(&mut conn).map_err(|e| StartError::Other(e.to_string()))?;
            println!("{summary}");
            Ok(())
        }
        Command::User(UserCommand::Add {
            username,
            role,
            region,
            institution,
            inspector,
        }) => {
            let pool = server::open_database(&config)?;
            let mut conn = pool.get().map_err(caregrade::db::DbError::from)?;
            let pw = std::env::var("CAREGRADE_NEW_PASSWORD").ok();
            let shown = caregrade::demo::add_user(
                &mut conn,
                &username,
                &role,
                region,
                institution,
                inspector,
                pw,
            )
            .map_err(|e| StartError::Other(e.to_string()))?;
            match shown {
                Some(pw) => println!("added {username} ({role}); password: {pw}"),
                None => println!("added {username} ({role})"),
            }
            Ok(())
        }
        Command::Audit(AuditCommand::Verify) => {
            let pool = server::open_database(&config)?;
            let mut conn = pool.get().map_err(caregrade::db::DbError::from)?;
            match caregrade::audit::verify(&mut conn)? {
                caregrade::audit::Verdict::Intact(n) => {
                    println!("audit chain intact: {n} entries");
                    Ok(())
                }
                caregrade::audit::Verdict::Broken { seq, reason } => Err(StartError::Other(
                    format!("audit chain broken at entry {seq}: {reason}"),
                )),
            }
        }
        Command::User(UserCommand::Disable { username }) => set_disabled(&config, &username, true),
        Command::User(UserCommand::Enable { username }) => set_disabled(&config, &username, false),
        Command::Serve { demo } => {
            let listen = config.listen.clone();
            let state = server::prepare(config)?;
            if demo {
                let mut conn = state.pool.get().map_err(caregrade::db::DbError::from)?;
                let summary = caregrade::demo::load(&mut conn)
                    .map_err(|e| StartError::Other(e.to_string()))?;
                println!("{summary}");
            }
            let listener = std::net::TcpListener::bind(&listen)
                .map_err(|e| StartError::Other(format!("listen on {listen}: {e}")))?;
            tracing::info!(address = %listen, "serving");
            println!("caregrade listening on http://{listen}");
            actix_web::rt::System::new()
                .block_on(async move { server::server(state, listener, None)?.await })
                .map_err(|e| StartError::Other(e.to_string()))
        }
    }
}

fn set_disabled(config: &Config, username: &str, disabled: bool) -> Result<(), StartError> {
    let pool = server::open_database(config)?;
    let mut conn = pool.get().map_err(caregrade::db::DbError::from)?;
    match caregrade::registry::users::set_disabled(&mut conn, username, disabled)? {
        0 => Err(StartError::Other(format!("no user {username}"))),
        _ => {
            println!(
                "{username} {}",
                if disabled { "disabled" } else { "enabled" }
            );
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Rules(args) => return rules_cli::run(args),
        Command::Draw(DrawCommand::Verify { files }) => return draw_verify(&files),
        _ => {}
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("caregrade: {e}");
            ExitCode::FAILURE
        }
    }
}
