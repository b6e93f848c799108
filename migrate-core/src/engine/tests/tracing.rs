//! The spans and events of the `tracing` feature, collected by a subscriber
//! that keeps them in memory.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use super::recorder::{Entry, Recorder};
use super::{four, perform};
use crate::driver::Dialect;
use crate::{LockStrategy, Operation};

/// A span or an event, with its fields as text.
#[derive(Debug, Clone)]
struct Collected {
    span: bool,
    name: String,
    id: u64,
    parent: Option<u64>,
    fields: BTreeMap<String, String>,
}

impl Collected {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

#[derive(Clone, Default)]
struct Collector {
    all: Arc<Mutex<Vec<Collected>>>,
    next: Arc<AtomicU64>,
}

impl Collector {
    fn all(&self) -> Vec<Collected> {
        self.all.lock().unwrap().clone()
    }

    fn spans(&self, name: &str) -> Vec<Collected> {
        self.all()
            .into_iter()
            .filter(|c| c.span && c.name == name)
            .collect()
    }

    fn events(&self, message: &str) -> Vec<Collected> {
        self.all()
            .into_iter()
            .filter(|c| !c.span && c.field("message") == Some(message))
            .collect()
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Collector {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let mut fields = BTreeMap::new();
        attributes.record(&mut Fields(&mut fields));
        self.all.lock().unwrap().push(Collected {
            span: true,
            name: attributes.metadata().name().to_owned(),
            id,
            parent: attributes.parent().map(Id::into_u64),
            fields,
        });
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut all = self.all.lock().unwrap();
        if let Some(collected) = all.iter_mut().find(|c| c.span && c.id == span.into_u64()) {
            values.record(&mut Fields(&mut collected.fields));
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.all.lock().unwrap().push(Collected {
            span: false,
            name: event.metadata().name().to_owned(),
            id: 0,
            parent: event.parent().map(Id::into_u64),
            fields,
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[test]
fn a_run_is_a_span_with_a_span_per_migration_and_an_event_for_the_lock() {
    let (_dir, four) = four();
    let collector = Collector::default();
    tracing::subscriber::with_default(collector.clone(), || {
        let mut recorder = Recorder::new(Dialect::Postgres, &four);
        let runner = four.runner().lock_strategy(LockStrategy::Table);
        perform(&runner, &mut recorder, Operation::Apply).unwrap();
    });
    let runs = collector.spans("migrate");
    let [run] = runs.as_slice() else {
        panic!("{runs:?}");
    };
    assert_eq!(run.field("operation"), Some("apply"));
    assert_eq!(run.field("lock"), Some("table"));
    assert_eq!(run.field("table"), Some("_migrations"));
    assert_eq!(run.field("outcome"), Some("ok"));
    assert!(run.field("duration_ms").is_some());

    let migrations = collector.spans("migration");
    assert_eq!(migrations.len(), 4);
    for (span, migration) in migrations.iter().zip(four.iter()) {
        assert_eq!(span.parent, Some(run.id));
        assert_eq!(
            span.field("version"),
            Some(&*migration.version().to_string())
        );
        assert_eq!(span.field("description"), Some(migration.description()));
        assert_eq!(
            span.field("checksum"),
            Some(&migration.checksum_hex()[..12])
        );
        assert_eq!(span.field("mode"), Some("transaction"));
        assert_eq!(span.field("direction"), Some("up"));
        // The recorder's server measured 10 µs for each.
        assert_eq!(span.field("duration_ms"), Some("0.01"));
    }

    let taken = collector.events("lock taken");
    let [taken] = taken.as_slice() else {
        panic!("{taken:?}");
    };
    assert_eq!(taken.parent, Some(run.id));
    assert_eq!(taken.field("strategy"), Some("table"));
    assert_eq!(taken.field("token"), Some("1"));
}

#[test]
fn waiting_for_the_lock_names_its_holder() {
    let (_dir, four) = four();
    for strategy in [LockStrategy::Session, LockStrategy::Table] {
        let collector = Collector::default();
        tracing::subscriber::with_default(collector.clone(), || {
            let mut recorder = Recorder::new(Dialect::Postgres, &four);
            recorder.lock_free_after(2);
            let runner = four.runner().lock_strategy(strategy);
            perform(&runner, &mut recorder, Operation::Apply).unwrap();
        });
        let waits = collector.events("waiting for the migration lock");
        let [wait] = waits.as_slice() else {
            panic!("{strategy}: {waits:?}");
        };
        let holder = wait.field("holder").unwrap_or_default();
        match strategy {
            LockStrategy::Table => assert!(holder.contains("other-host:7:0badcafe"), "{holder}"),
            _ => assert!(holder.starts_with("pid 4242"), "{holder}"),
        }
        let taken = collector.events("lock taken");
        assert_ne!(taken[0].field("waited_ms"), None);
    }
}

#[test]
fn drift_is_an_event_of_the_run_that_finds_it() {
    let (_dir, four) = four();
    for operation in [Operation::Apply, Operation::Status] {
        let collector = Collector::default();
        tracing::subscriber::with_default(collector.clone(), || {
            let mut recorder = Recorder::new(Dialect::Sqlite, &four);
            recorder.set_history(&[Entry::applied(1, "edited")]);
            let _ = perform(&four.runner(), &mut recorder, operation.clone());
        });
        let drift = collector.events("drift found");
        let [drift] = drift.as_slice() else {
            panic!("{operation:?}: {drift:?}");
        };
        assert_eq!(drift.field("version"), Some("1"));
        assert_eq!(drift.field("recorded"), Some("edited"));
        assert_eq!(
            drift.field("embedded"),
            Some(&*four.get(1).unwrap().checksum_hex())
        );
        assert_eq!(collector.spans("migrate")[0].field("lock"), Some("write"));
    }
}
