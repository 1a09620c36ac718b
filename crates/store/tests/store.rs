//! The store's behaviour, identical on SQLite and PostgreSQL: every test runs on both.
//! PostgreSQL: set CPTS_TEST_POSTGRES_URL (an admin URL; each run creates its own database).
//! With CI=true, PostgreSQL is required.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail by panicking

mod common;

use common::{areas, identity, stamp, stores};
use cpts_domain::geo::Geo;
use cpts_domain::ids::CptsId;
use cpts_domain::registry::{Member, Profession, Territory};
use cpts_store::{Store, StoreError};
use jiff::civil::date;

fn member(name: &str, rpps: Option<&str>) -> Member {
    Member {
        last_name: name.into(),
        first_name: "Camille".into(),
        profession: Profession::Infirmier,
        rpps: rpps.map(|r| r.parse().unwrap()),
        commune: "75118".parse().unwrap(),
        joined: date(2021, 3, 1),
        left: None,
    }
}

#[tokio::test]
async fn create_read_list_and_refuse_duplicates() {
    for (label, s) in stores().await {
        let id: CptsId = "cpts-paris-18".parse().unwrap();
        let created = s.create_cpts(&stamp(), &id, &identity("CPTS Paris 18"), &areas()).await.unwrap();
        assert_eq!(created.version, 1, "{label}");
        let got = s.get_cpts(&id).await.unwrap();
        assert_eq!(got, created, "{label}");
        assert!(matches!(s.create_cpts(&stamp(), &id, &identity("bis"), &areas()).await, Err(StoreError::AlreadyExists(_))), "{label}");
        s.create_cpts(&stamp(), &"cpts-paris-14".parse().unwrap(), &identity("CPTS Paris 14"), &areas()).await.unwrap();
        let all = s.list_cpts().await.unwrap();
        assert_eq!(
            all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            vec!["cpts-paris-14", "cpts-paris-18"],
            "{label}"
        );
        assert!(matches!(s.get_cpts(&"inconnue".parse().unwrap()).await, Err(StoreError::NotFound(_))), "{label}");
        s.close().await;
    }
}

#[tokio::test]
async fn the_second_concurrent_save_is_refused() {
    for (label, s) in stores().await {
        let id: CptsId = "cpts-a".parse().unwrap();
        s.create_cpts(&stamp(), &id, &identity("A"), &areas()).await.unwrap();
        // Two users load version 1; the first saves, the second is refused and nothing of it lands.
        let v2 = s.update_identity(&stamp(), &id, 1, &identity("A, nom corrigé"), &areas()).await.unwrap();
        assert_eq!(v2, 2);
        let err = s.update_identity(&stamp(), &id, 1, &identity("A, autre nom"), &areas()).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { expected: 1, actual: 2, .. }), "{label}: {err}");
        assert!(err.to_string().contains("modifiée par quelqu'un d'autre"));
        assert_eq!(s.get_cpts(&id).await.unwrap().identity.name, "A, nom corrigé", "{label}");
        s.close().await;
    }
}

#[tokio::test]
async fn territories_round_trip() {
    let geo = Geo::builtin().unwrap();
    for (label, s) in stores().await {
        let id: CptsId = "cpts-centre".parse().unwrap();
        s.create_cpts(&stamp(), &id, &identity("Centre"), &areas()).await.unwrap();
        let t =
            Territory::from_inputs(&geo, &["75101".into(), "75102".into(), "Paris 3e Arrondissement".into()]).unwrap();
        let v = s.set_territory(&stamp(), &id, 1, &t, &areas()).await.unwrap();
        assert_eq!(v, 2);
        assert_eq!(s.get_cpts(&id).await.unwrap().territory, t, "{label}");
        let smaller = Territory::from_inputs(&geo, &["75101".into()]).unwrap();
        s.set_territory(&stamp(), &id, 2, &smaller, &areas()).await.unwrap();
        assert_eq!(s.get_cpts(&id).await.unwrap().territory, smaller, "{label}");
        assert!(matches!(s.set_territory(&stamp(), &id, 2, &t, &areas()).await, Err(StoreError::Conflict { .. })), "{label}");
        s.close().await;
    }
}

#[tokio::test]
async fn a_member_import_lands_whole_or_not_at_all() {
    for (label, s) in stores().await {
        let id: CptsId = "cpts-m".parse().unwrap();
        s.create_cpts(&stamp(), &id, &identity("M"), &areas()).await.unwrap();
        let batch: Vec<Member> = (0..1200).map(|i| member(&format!("Nom{i}"), None)).collect();
        assert_eq!(s.import_members(&stamp(), &id, &batch).await.unwrap(), 1200, "{label}");
        s.import_members(&stamp(), &id, &[member("Durand", Some("10000000009"))]).await.unwrap();
        // A second file repeating an RPPS, after 700 good rows: nothing of it is stored.
        let mut bad: Vec<Member> = (0..700).map(|i| member(&format!("Autre{i}"), None)).collect();
        bad.push(member("Durand bis", Some("10000000009")));
        let err = s.import_members(&stamp(), &id, &bad).await.unwrap_err();
        assert!(err.to_string().contains("rien n'a été enregistré"), "{label}: {err}");
        assert_eq!(s.count_members(&id).await.unwrap(), 1201, "{label}");
        let back = s.members(&id).await.unwrap();
        assert_eq!(back.len(), 1201);
        assert_eq!(back[1200], member("Durand", Some("10000000009")), "{label}");
        s.close().await;
    }
}

#[tokio::test]
async fn members_are_corrected_ended_and_removed_with_their_history() {
    use cpts_domain::members::{ImportMode, plan_import};
    for (label, s) in stores().await {
        let id: CptsId = "cpts-h".parse().unwrap();
        s.create_cpts(&stamp(), &id, &identity("H"), &areas()).await.unwrap();
        s.import_members(&stamp(), &id, &[member("Martin", Some("10000000009")), member("Durand", None), member("Leroy", None)])
            .await
            .unwrap();
        // A departure recorded on member 1: the previous state is kept.
        let left = Member { left: Some(date(2023, 6, 30)), ..member("Martin", Some("10000000009")) };
        s.update_member(&stamp(), &id, 1, &left).await.unwrap();
        // An erroneous entry removed: gone from the list, kept in the history.
        assert_eq!(s.remove_member(&stamp(), &id, 3).await.unwrap(), member("Leroy", None), "{label}");
        assert!(s.remove_member(&stamp(), &id, 3).await.unwrap_err().to_string().contains("membre n° 3 introuvable"), "{label}");
        // Re-importing the same list in replacement: nothing duplicated (Durand has no RPPS).
        let stored = s.numbered_members(&id).await.unwrap();
        assert_eq!(stored.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 2], "{label}");
        let file: Vec<(usize, Option<i64>, Member)> =
            stored.iter().map(|(n, m)| (usize::try_from(*n).unwrap() + 1, None, m.clone())).collect();
        let plan = plan_import(&stored, &file, ImportMode::Replace, date(2024, 1, 1)).unwrap();
        assert!(plan.is_empty() && plan.unchanged == 2, "{label}: {plan:?}");
        // Durand corrected by a file made from an older list: refused as stale, nothing written.
        let fixed = Member { first_name: "Paul".into(), ..member("Durand", None) };
        let plan = plan_import(
            &stored,
            &[(2, None, stored[0].1.clone()), (3, Some(2), fixed.clone())],
            ImportMode::Replace,
            date(2024, 1, 1),
        )
        .unwrap();
        s.update_member(&stamp(), &id, 2, &Member { commune: "75117".parse().unwrap(), ..member("Durand", None) }).await.unwrap();
        let err = s.apply_member_import(&stamp(), &id, &plan, |_| {}).await.unwrap_err();
        assert!(err.to_string().contains("membre n° 2 a été modifié entre-temps"), "{label}: {err}");
        let history = s.member_history(&id).await.unwrap();
        assert_eq!(
            history.iter().map(|h| (h.seq, h.removed)).collect::<Vec<_>>(),
            [(1, false), (2, false), (3, true)],
            "{label}"
        );
        assert_eq!(history[0].before, member("Martin", Some("10000000009")), "{label}");
        assert_eq!(s.members(&id).await.unwrap()[0].left, Some(date(2023, 6, 30)), "{label}");
        s.close().await;
    }
}

#[tokio::test]
async fn reopening_keeps_data_and_migrations_are_idempotent() {
    let dir = std::env::temp_dir().join(format!("cpts-reopen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("r.sqlite");
    let url = path.to_str().unwrap();
    let s = Store::open(url).await.unwrap();
    s.create_cpts(&stamp(), &"cpts-x".parse().unwrap(), &identity("X"), &areas()).await.unwrap();
    s.close().await;
    let s = Store::open(url).await.unwrap();
    assert_eq!(s.list_cpts().await.unwrap().len(), 1);
    s.close().await;
}

#[tokio::test]
async fn governance_history_and_structures() {
    use cpts_domain::registry::{Mandate, Role, Structure, StructureKind};
    for (label, s) in stores().await {
        let id: CptsId = "cpts-g".parse().unwrap();
        s.create_cpts(&stamp(), &id, &identity("G"), &areas()).await.unwrap();
        let m = |role, p: &str, from, until| Mandate { role, person: p.into(), from, until };
        let first = s.add_mandate(&stamp(), &id, &m(Role::President, "Dr A", date(2020, 1, 1), None)).await.unwrap();
        // A second president while the first is in office: refused, nothing written.
        let err = s.add_mandate(&stamp(), &id, &m(Role::President, "Dr B", date(2022, 1, 1), None)).await.unwrap_err();
        assert!(err.to_string().contains("deux présidents en même temps"), "{label}: {err}");
        assert_eq!(s.mandates(&id).await.unwrap().len(), 1, "{label}");
        // End the first mandate, then the second president is accepted; history keeps both.
        s.end_mandate(&stamp(), &id, first, date(2021, 12, 31)).await.unwrap();
        s.add_mandate(&stamp(), &id, &m(Role::President, "Dr B", date(2022, 1, 1), None)).await.unwrap();
        s.add_mandate(&stamp(), &id, &m(Role::Bureau, "C", date(2020, 1, 1), None)).await.unwrap();
        let history = s.mandates(&id).await.unwrap();
        assert_eq!(history.len(), 3, "{label}");
        assert_eq!(history[0].1.until, Some(date(2021, 12, 31)));
        assert_eq!(history.iter().filter(|(_, x)| x.active_on(date(2023, 1, 1))).count(), 2);
        let st = Structure {
            name: "MSP des Abbesses".into(),
            kind: StructureKind::Msp,
            finess: Some("750000001".parse().unwrap()),
            commune: "75118".parse().unwrap(),
            joined: date(2021, 1, 1),
            left: None,
        };
        s.add_structure(&stamp(), &id, &st).await.unwrap();
        assert_eq!(s.structures(&id).await.unwrap(), vec![(1, st)], "{label}");
        s.close().await;
    }
}

/// A fresh folder for the opening tests.
fn open_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cpts-open-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn refused_open(url: &str) -> String {
    let started = std::time::Instant::now();
    let err = match Store::open(url).await {
        Ok(_) => panic!("{url} aurait dû être refusé"),
        Err(e) => e,
    };
    // Said at once, not after the pool's 30 s timeout.
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "{url}: {:?}", started.elapsed());
    assert!(matches!(err, StoreError::Open(_)), "{url}: {err:?}");
    err.to_string()
}

#[tokio::test]
async fn what_is_not_a_sqlite_store_is_refused_at_once_and_left_untouched() {
    let dir = open_dir("bad");
    let random: Vec<u8> = (0u32..4096).map(|i| (i.wrapping_mul(2_654_435_761) >> 24).to_le_bytes()[0]).collect();
    let cases: [(&str, &[u8], &str); 3] = [
        ("random.bin", &random, "n'est pas une base SQLite"),
        ("notes.txt", b"Nom;Prenom\nMartin;Anne\n", "n'est pas une base SQLite"),
        ("short.sqlite", b"SQLite format 3\0\x10\x00", "base SQLite corrompue (en-tête incomplet)"),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = refused_open(path.to_str().unwrap()).await;
        assert!(err.contains(expected) && err.contains(name), "{name}: {err}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} changed");
    }
    let err = refused_open(dir.to_str().unwrap()).await;
    assert!(err.contains("est un dossier"), "{err}");
    let err = refused_open("/dev/null").await;
    assert!(err.contains("n'est pas un fichier ordinaire"), "{err}");
    // An empty file is an empty database: a new store.
    let empty = dir.join("empty.sqlite");
    std::fs::write(&empty, b"").unwrap();
    Store::open(empty.to_str().unwrap()).await.unwrap().close().await;
}

#[tokio::test]
async fn a_truncated_store_is_said_corrupted() {
    let dir = open_dir("truncated");
    let path = dir.join("t.sqlite");
    let url = path.to_str().unwrap();
    let s = Store::open(url).await.unwrap();
    s.create_cpts(&stamp(), &"cpts-x".parse().unwrap(), &identity("X"), &areas()).await.unwrap();
    s.close().await;
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 8192, "{}", bytes.len());
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = refused_open(url).await;
    assert!(err.contains("base SQLite corrompue (fichier tronqué"), "{err}");
}

#[tokio::test]
async fn another_applications_database_and_a_newer_store_are_refused() {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let dir = open_dir("foreign");
    let path = dir.join("other.sqlite");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total TEXT)").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    let err = refused_open(path.to_str().unwrap()).await;
    assert!(err.contains("autre application") && err.contains("invoices"), "{err}");
    // Nothing was added to it.
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 1);
    conn.close().await.unwrap();

    // A store whose schema a newer cpts moved on.
    let newer = dir.join("newer.sqlite");
    Store::open(newer.to_str().unwrap()).await.unwrap().close().await;
    let url = format!("sqlite://{}", newer.display());
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'future', 'x')")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let err = refused_open(newer.to_str().unwrap()).await;
    assert!(err.contains("version plus récente de cpts (schéma 999"), "{err}");
}

#[tokio::test]
async fn an_unreachable_postgres_server_is_named_at_once() {
    // Port 1 on the loopback: nothing listens there, the connection is refused.
    let err = refused_open("postgres://cpts:secret@127.0.0.1:1/cpts").await;
    assert!(err.contains("connexion refusée par le serveur PostgreSQL à 127.0.0.1:1"), "{err}");
    assert!(!err.contains("secret"), "{err}");
}

#[tokio::test]
async fn over_long_and_control_character_texts_are_refused_before_any_write() {
    use cpts_domain::registry::{Mandate, Role, Structure, StructureKind};
    for (label, s) in stores().await {
        let id: CptsId = "cpts-t".parse().unwrap();
        let err = s.create_cpts(&stamp(), &id, &identity(&"N".repeat(320)), &areas()).await.unwrap_err();
        assert!(err.to_string().contains("nom de la CPTS : 320 caractères, 200 au plus"), "{label}: {err}");
        let err = s.create_cpts(&stamp(), &id, &identity("CPTS \u{1b}]52;c;ZXZpbA==\u{7}"), &areas()).await.unwrap_err();
        assert!(err.to_string().contains("caractère de contrôle U+001B"), "{label}: {err}");
        assert!(s.list_cpts().await.unwrap().is_empty(), "{label}");
        s.create_cpts(&stamp(), &id, &identity("T"), &areas()).await.unwrap();
        let err = s.update_identity(&stamp(), &id, 1, &identity("T\u{202e}"), &areas()).await.unwrap_err();
        assert!(err.to_string().contains("U+202E"), "{label}: {err}");
        let long = member(&"x".repeat(50_000), None);
        let err = s.import_members(&stamp(), &id, &[member("Martin", None), long]).await.unwrap_err();
        assert!(err.to_string().contains("membre n° 2 : nom : 50000 caractères, 200 au plus"), "{label}: {err}");
        assert!(s.members(&id).await.unwrap().is_empty(), "{label}");
        let st = Structure {
            name: "MSP\0".into(),
            kind: StructureKind::Msp,
            finess: None,
            commune: "75118".parse().unwrap(),
            joined: date(2021, 1, 1),
            left: None,
        };
        assert!(s.add_structure(&stamp(), &id, &st).await.unwrap_err().to_string().contains("U+0000"), "{label}");
        let m = Mandate { role: Role::President, person: "Dr\u{9b}A".into(), from: date(2020, 1, 1), until: None };
        assert!(s.add_mandate(&stamp(), &id, &m).await.unwrap_err().to_string().contains("U+009B"), "{label}");
        assert_eq!(s.get_cpts(&id).await.unwrap().version, 1, "{label}");
        s.close().await;
    }
}

#[tokio::test]
async fn concurrent_writers_wait_for_each_other_instead_of_failing() {
    // Eight writers at once, each editing its own CPTS ten times: on SQLite a deferred
    // transaction that read first could not take the write lock (« database is locked »).
    for (engine, store) in stores().await {
        let store = std::sync::Arc::new(store);
        let mut writers = tokio::task::JoinSet::new();
        for w in 0..8 {
            let store = store.clone();
            writers.spawn(async move {
                let id: CptsId = format!("cpts-concurrente-{w}").parse().unwrap();
                store.create_cpts(&stamp(), &id, &identity(&format!("CPTS Concurrente {w}")), &areas()).await?;
                for i in 0..10 {
                    let version = store.get_cpts(&id).await?.version;
                    store.update_identity(&stamp(), &id, version, &identity(&format!("CPTS Concurrente {w} ({i})")), &areas()).await?;
                }
                Ok::<_, StoreError>(())
            });
        }
        while let Some(done) = writers.join_next().await {
            done.unwrap().unwrap_or_else(|e| panic!("{engine}: {e}"));
        }
        assert_eq!(store.get_cpts(&"cpts-concurrente-7".parse().unwrap()).await.unwrap().version, 11, "{engine}");
    }
}
