//! The bot's request settings against a homeserver that answers `M_LIMIT_EXCEEDED`: the next
//! attempt waits the server's `retry_after_ms`, reuses the transaction id (so nothing is posted
//! twice), and the attempts are bounded by `request_attempts`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::ruma::api::client::message::send_message_event;
use matrix_sdk::ruma::events::room::message::RoomMessageEventContent;
use matrix_sdk::{Client, SessionMeta, SessionTokens};
use serde_json::json;

use super::login::request_config;
use crate::config::Matrix;

/// Transaction ids seen, and how many 429s to give before accepting.
#[derive(Clone, Default)]
struct Fake {
    txns: Arc<Mutex<Vec<(String, Instant)>>>,
    refuse: usize,
}

async fn send(
    State(f): State<Fake>,
    Path((_room, _kind, txn)): Path<(String, String, String)>,
) -> (axum::http::StatusCode, Json<serde_json::Value>) {
    let n = {
        let mut t = f.txns.lock().unwrap();
        t.push((txn, Instant::now()));
        t.len()
    };
    if n <= f.refuse {
        let body =
            json!({"errcode": "M_LIMIT_EXCEEDED", "error": "slow down", "retry_after_ms": 300});
        return (axum::http::StatusCode::TOO_MANY_REQUESTS, Json(body));
    }
    (
        axum::http::StatusCode::OK,
        Json(json!({"event_id": "$sent"})),
    )
}

async fn client_for(fake: Fake) -> Client {
    let app = Router::new()
        .route(
            "/_matrix/client/versions",
            get(|| async { Json(json!({"versions": ["v1.11"]})) }),
        )
        .route(
            "/_matrix/client/v3/rooms/{room}/send/{kind}/{txn}",
            put(send),
        )
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let cfg = Matrix {
        homeserver: format!("http://{addr}"),
        request_attempts: 3,
        retry_max_secs: 1,
        ..Matrix::default()
    };
    let client = Client::builder()
        .homeserver_url(&cfg.homeserver)
        .request_config(request_config(&cfg))
        .build()
        .await
        .unwrap();
    client
        .restore_session(MatrixSession {
            meta: SessionMeta {
                user_id: "@bot:lab".try_into().unwrap(),
                device_id: "DEV".into(),
            },
            tokens: SessionTokens {
                access_token: "t".into(),
                refresh_token: None,
            },
        })
        .await
        .unwrap();
    client
}

fn request() -> send_message_event::v3::Request {
    let content = RoomMessageEventContent::notice_plain("hi");
    send_message_event::v3::Request::new("!r:lab".try_into().unwrap(), "txn1".into(), &content)
        .unwrap()
}

#[tokio::test]
async fn limit_exceeded_waits_retry_after_and_keeps_the_transaction() {
    let fake = Fake {
        refuse: 1,
        ..Fake::default()
    };
    let client = client_for(fake.clone()).await;
    let r = client.send(request()).await.unwrap();
    assert_eq!(r.event_id, "$sent");
    let txns = fake.txns.lock().unwrap().clone();
    assert_eq!(txns.len(), 2);
    assert_eq!(txns[0].0, txns[1].0, "a retry reuses the transaction id");
    let waited = txns[1].1.duration_since(txns[0].1);
    assert!(
        waited >= Duration::from_millis(290),
        "waited only {waited:?}"
    );
}

#[tokio::test]
async fn attempts_are_bounded() {
    let fake = Fake {
        refuse: usize::MAX,
        ..Fake::default()
    };
    let client = client_for(fake.clone()).await;
    let err = client.send(request()).await.unwrap_err();
    assert!(
        err.to_string().contains("slow down") || err.to_string().contains("LIMIT"),
        "{err}"
    );
    assert_eq!(fake.txns.lock().unwrap().len(), 3);
}
