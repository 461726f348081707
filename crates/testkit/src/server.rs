//! The real server for tests: the web service, the administration and the
//! stand-in authenticator on a free port of 127.0.0.1, over SQLite or
//! PostgreSQL, exactly as `zaitaku serve` runs them.

use zaitaku_storage::Store;
use zaitaku_web::AppState;

/// A running server and what a test needs to reach behind it.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub state: AppState,
    pub store: Store,
    pub db_url: String,
}

/// Opens the database at `url` (migrating it) and serves it on a free port
/// until the test's runtime ends.
pub async fn start(url: &str) -> Server {
    start_with(url, |state| state).await
}

/// [`start`] with the state changed first, as a command-line option of
/// `zaitaku serve` would change it.
pub async fn start_with(url: &str, configure: impl FnOnce(AppState) -> AppState) -> Server {
    let store = Store::open(url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = configure(AppState::new(store.clone(), base.clone()).await.unwrap());
    tokio::spawn(zaitaku_web::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    Server {
        base,
        state,
        store,
        db_url: url.to_owned(),
    }
}
