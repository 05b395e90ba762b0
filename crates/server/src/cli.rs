//! The command line: `serve`, `migrate`, `user create`, `default-config`, `bench`.

use crate::config::{Cli, Command, KeysArgs, KeysCommand, LogFormat, ServeArgs, UserCommand, UserCreateArgs};
use crate::startup::{open_app, open_app_with_keys, shutdown_signal, Application, Settings};
use crate::{bench, config, telemetry};
use anyhow::Context as _;
use clap::Parser as _;
use rapport_app::{AppConfig, AppError, RequestContext, SignUp, DEMO_PASSWORD};
use rapport_domain::Role;
use std::io::{BufRead as _, Write as _};
use std::process::ExitCode;

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(data) => {
            telemetry::init(LogFormat::Text);
            let app = open_app(&data, AppConfig::default()).await?;
            println!("The {} database is up to date.", app.backend());
            app.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::Create(args)) => create_user(args).await,
        Command::Keys(KeysCommand::Rotate(args)) => rotate_keys(args).await,
        Command::DefaultConfig => {
            print!("{}", config::default_config_text());
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => {
            telemetry::init(LogFormat::Text);
            bench::run(args).await
        }
        Command::BenchMessages(args) => {
            telemetry::init(LogFormat::Text);
            crate::bench_messages::run(args).await
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    telemetry::init(args.log_format);
    let application = Application::build(Settings::from_serve(&args)).await?;
    let app = application.app().clone();
    let mut out = std::io::stdout().lock();
    if args.demo {
        let logins = match app.seed_demo().await {
            Ok(logins) => logins,
            Err(AppError::Conflict { message, .. }) => anyhow::bail!("{message}"),
            Err(e) => return Err(anyhow::anyhow!("could not add demo data: {e}")),
        };
        writeln!(
            out,
            "\nDEMO DATA: these accounts are for trying Rapport out. Every one uses the password \"{DEMO_PASSWORD}\"."
        )?;
        for login in logins {
            writeln!(out, "  {:<38} {:<10} {}", login.email, login.role.as_str(), login.who)?;
        }
        writeln!(out)?;
    } else if app.account_count().await? == 0 {
        writeln!(
            out,
            "No accounts yet. Create the first administrator with:\n  rapport user create --role admin --email you@example.org\n"
        )?;
    }
    writeln!(out, "Rapport is serving at http://{}", application.local_addr())?;
    if let Some(addr) = application.metrics_addr() {
        writeln!(out, "Metrics are served at http://{addr}/metrics")?;
    }
    out.flush()?;
    drop(out);
    application.run_until(shutdown_signal()).await.context("the server stopped with an error")?;
    Ok(ExitCode::SUCCESS)
}

async fn rotate_keys(args: KeysArgs) -> anyhow::Result<ExitCode> {
    telemetry::init(LogFormat::Text);
    if args.master_key.is_none() && !args.data.data_dir.join("master.key").exists() {
        anyhow::bail!("no master key at {}: nothing to rotate", args.data.data_dir.join("master.key").display());
    }
    let app = open_app_with_keys(&args.data, args.master_key.as_ref()).await?;
    let result = app.rotate_keys().await;
    app.close().await;
    let rotation = result.map_err(|e| anyhow::anyhow!("the rotation failed, nothing changed in the database: {e}"))?;
    println!(
        "The master key is now {}. {} data key(s) were re-wrapped under it; new records use data key {}.",
        rotation.master_key_id, rotation.rewrapped, rotation.new_data_key
    );
    if args.master_key.is_some() {
        println!(
            "Set RAPPORT_MASTER_KEY to the new ring (newest first) on every instance, then restart them one by one:\n{}",
            rotation.ring.join(",")
        );
    } else {
        println!(
            "The key file {} now lists the new key first; earlier keys stay in it for records sealed before data keys. Running instances pick it up without a restart.",
            args.data.data_dir.join("master.key").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn create_user(args: UserCreateArgs) -> anyhow::Result<ExitCode> {
    telemetry::init(LogFormat::Text);
    let role: Role = args.role.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut password = String::new();
    std::io::stdin().lock().read_line(&mut password).context("could not read the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    let display_name =
        args.display_name.clone().unwrap_or_else(|| args.email.split('@').next().unwrap_or("Admin").to_owned());
    let app = open_app(&args.data, AppConfig::default()).await?;
    let input = SignUp { email: args.email.clone(), password, display_name, time_zone: String::new() };
    let result = app.create_account(input, role, &RequestContext::default()).await;
    app.close().await;
    match result {
        Ok(account) => {
            println!("Created the {} account {} ({}).", account.role, account.email, account.id);
            Ok(ExitCode::SUCCESS)
        }
        Err(AppError::Invalid(errors)) => {
            for (field, messages) in errors.iter() {
                for m in messages {
                    eprintln!("{field}: {m}");
                }
            }
            Ok(ExitCode::from(2))
        }
        Err(AppError::Conflict { message, .. }) => {
            eprintln!("{message}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(anyhow::anyhow!("could not create the account: {e}")),
    }
}
