//! `tessera`: serves the portal and (later) the enforcement API.

use server::config::{self, Command, Config};
use server::startup;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env_and_args(std::env::args().skip(1))?;
    startup::init_tracing();
    match config.command {
        Command::Serve => startup::serve(config).await,
        Command::AuditVerify { ref checkpoint } => {
            if !startup::verify_audit(&config, checkpoint.as_deref()).await? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::AuditCheckpoint => startup::checkpoint_audit(&config).await,
        Command::Migrate => startup::migrate(&config).await,
        Command::Backup { ref file } => startup::backup(&config, file).await,
        Command::Restore { ref file } => startup::restore(&config, file).await,
        Command::AdminCreate { ref email, ref name } => startup::create_admin(&config, email, name).await,
        Command::Help => {
            println!("{}", config::USAGE);
            Ok(())
        }
    }
}
