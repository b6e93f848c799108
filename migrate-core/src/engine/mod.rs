//! The engine: every operation of a [`Runner`], decided once for every
//! database and every driver.
//!
//! An operation is written as straight-line async code over a [`Cx`], whose
//! only awaits are the actions it asks for. [`Engine`] runs that code as a
//! coroutine that does no I/O: [`Engine::resume`] polls it until it asks for
//! an [`Action`] or finishes, and the next call hands it the [`Outcome`].
//! A driver loop ([`drive`], [`drive_async`]) performs the actions; the
//! tests drive it with a driver that records them.

mod adopt;
mod apply;
mod cx;
mod lifecycle;
mod lock;
mod no_transaction;
mod session;
#[cfg(test)]
mod tests;
mod trace;
mod verify;

use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::driver::{
    Action, AsyncDriver, Dialect, Driver, Executed, Failure, Piece, Purpose, Row, Running,
};
use crate::report::Status;
use crate::{
    Adoption, Migration, Report, Resolution, Result, Rollback, Runner, Source, Verification,
};
use cx::Cx;

/// An operation of a [`Runner`], to run with
/// [`Runner::perform`](crate::Runner::perform) or
/// [`Runner::perform_async`](crate::Runner::perform_async).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// Apply what is pending: [`Runner::run`][crate::Runner::run].
    ///
    #[cfg_attr(not(feature = "sqlite"), doc = "[crate::Runner::run]: crate#features")]
    Apply,
    /// What a run would apply now, changing nothing.
    Pending,
    /// Every migration's state, changing nothing.
    Status,
    /// Revert applied migrations with their down scripts.
    Rollback(Rollback),
    /// Record the migrations up to this version as applied, running nothing.
    Baseline(i64),
    /// Record the binary's checksum of this applied migration.
    Repair(i64),
    /// Settle a `no-transaction` migration that stopped part-way.
    Resolve(i64, Resolution),
    /// Record the migrations another tool applied: [`Runner::adopt`][crate::Runner::adopt].
    ///
    #[cfg_attr(
        not(feature = "sqlite"),
        doc = "[crate::Runner::adopt]: crate#features"
    )]
    Adopt(Source),
    /// Check a migrated database, changing nothing: [`Runner::verify`][crate::Runner::verify].
    ///
    #[cfg_attr(
        not(feature = "sqlite"),
        doc = "[crate::Runner::verify]: crate#features"
    )]
    Verify,
}

/// What an [`Operation`] produced.
#[derive(Debug)]
#[non_exhaustive]
pub enum Output<'m> {
    /// [`Operation::Apply`], [`Operation::Rollback`], [`Operation::Baseline`].
    Report(Report),
    /// [`Operation::Pending`]: the migrations a run would apply, in order.
    Pending(Vec<&'m Migration>),
    /// [`Operation::Status`].
    Status(Status),
    /// [`Operation::Repair`]: whether the record changed.
    Repaired(bool),
    /// [`Operation::Resolve`].
    Resolved,
    /// [`Operation::Adopt`].
    Adopted(Adoption),
    /// [`Operation::Verify`].
    Verified(Verification),
}

// What each public entry point takes out of its operation's output. The
// engine returns the variant of the operation it was given, so another one
// is a bug of the engine, not something a caller can cause.
#[allow(dead_code)] // Each driver feature uses some of them.
impl<'m> Output<'m> {
    pub(crate) fn into_report(self) -> Report {
        match self {
            Output::Report(report) => report,
            other => unreachable!("expected a report, the engine gave {other:?}"),
        }
    }

    pub(crate) fn into_pending(self) -> Vec<&'m Migration> {
        match self {
            Output::Pending(pending) => pending,
            other => unreachable!("expected the pending migrations, the engine gave {other:?}"),
        }
    }

    pub(crate) fn into_status(self) -> Status {
        match self {
            Output::Status(status) => status,
            other => unreachable!("expected a status, the engine gave {other:?}"),
        }
    }

    pub(crate) fn into_repaired(self) -> bool {
        match self {
            Output::Repaired(changed) => changed,
            other => unreachable!("expected a repair, the engine gave {other:?}"),
        }
    }

    pub(crate) fn into_adopted(self) -> Adoption {
        match self {
            Output::Adopted(adoption) => adoption,
            other => unreachable!("expected an adoption, the engine gave {other:?}"),
        }
    }

    pub(crate) fn into_verified(self) -> Verification {
        match self {
            Output::Verified(verification) => verification,
            other => unreachable!("expected a verification, the engine gave {other:?}"),
        }
    }
}

/// What a driver reports after an action.
#[derive(Debug)]
pub(crate) enum Outcome {
    Rows(std::result::Result<Vec<Vec<Row>>, Failure>),
    Executed(std::result::Result<Executed, Failure>),
    Slept,
    Running(Option<bool>),
}

/// The place where the coroutine leaves its next action and finds its
/// outcome. Only one of the two is ever there.
#[derive(Debug, Default)]
pub(crate) struct Io(Mutex<Slot>);

#[derive(Debug, Default)]
enum Slot {
    #[default]
    Empty,
    Action(Action),
    Outcome(Outcome),
}

impl Io {
    /// Asks for `action` and waits for its outcome.
    pub(crate) async fn act(&self, action: Action) -> Outcome {
        self.put(Slot::Action(action));
        std::future::poll_fn(|_| match self.take() {
            Slot::Outcome(outcome) => Poll::Ready(outcome),
            other => {
                self.put(other);
                Poll::Pending
            }
        })
        .await
    }

    fn put(&self, slot: Slot) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = slot;
    }

    fn take(&self) -> Slot {
        mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// An operation's code, pinned where the driver loop keeps it: on its own
/// stack or in its future, so that no allocation is made for it.
type Task<'t, 'm> = Pin<&'t mut (dyn Future<Output = Result<Output<'m>>> + Send + 't)>;

/// One operation, as a coroutine that asks for actions.
pub(crate) struct Engine<'t, 'm> {
    io: &'t Io,
    task: Task<'t, 'm>,
}

/// What the engine wants next.
#[derive(Debug)]
pub(crate) enum Step<'m> {
    /// Perform this, and resume with its outcome.
    Act(Action),
    /// The operation ended.
    Done(Result<Output<'m>>),
}

/// An operation's code: what [`Engine`] runs.
async fn operate<'m>(
    runner: &Runner<'m>,
    dialect: Dialect,
    operation: Operation,
    io: &Io,
) -> Result<Output<'m>> {
    let mut cx = Cx::new(runner, dialect, io)?;
    run(&mut cx, operation).await
}

impl<'t, 'm> Engine<'t, 'm> {
    /// The engine of `task`, an [`operate`] future that asks for its
    /// actions through `io`.
    pub(crate) fn new(io: &'t Io, task: Task<'t, 'm>) -> Self {
        Engine { io, task }
    }

    /// Hands the engine the outcome of the action it asked for last (none
    /// at the start), and runs it to its next action or its end.
    pub(crate) fn resume(&mut self, outcome: Option<Outcome>) -> Step<'m> {
        if let Some(outcome) = outcome {
            self.io.put(Slot::Outcome(outcome));
        }
        let mut context = Context::from_waker(Waker::noop());
        match self.task.as_mut().poll(&mut context) {
            Poll::Ready(result) => Step::Done(result),
            Poll::Pending => match self.io.take() {
                Slot::Action(action) => Step::Act(action),
                // The only await that returns Pending is `Io::act`, which
                // always leaves an action first.
                _ => unreachable!("the engine paused without asking for an action"),
            },
        }
    }
}

async fn run<'m>(cx: &mut Cx<'_, 'm>, operation: Operation) -> Result<Output<'m>> {
    cx.trace.start(&operation);
    let result = perform(cx, operation).await;
    cx.trace.end(&result);
    result
}

async fn perform<'m>(cx: &mut Cx<'_, 'm>, operation: Operation) -> Result<Output<'m>> {
    Ok(match operation {
        Operation::Apply => {
            let applied = apply::apply(cx).await?;
            let applied = match cx.runner.verify_after {
                true => verify::unverified(applied, verify::verify(cx).await?)?,
                false => applied,
            };
            Output::Report(Report::new(applied))
        }
        Operation::Pending => Output::Pending(apply::pending(cx).await?),
        Operation::Status => Output::Status(apply::status(cx).await?),
        Operation::Rollback(rollback) => Output::Report(lifecycle::rollback(cx, rollback).await?),
        Operation::Baseline(version) => Output::Report(lifecycle::baseline(cx, version).await?),
        Operation::Repair(version) => Output::Repaired(lifecycle::repair(cx, version).await?),
        Operation::Resolve(version, resolution) => {
            lifecycle::resolve(cx, version, resolution).await?;
            Output::Resolved
        }
        Operation::Adopt(source) => Output::Adopted(adopt::adopt(cx, &source).await?),
        Operation::Verify => Output::Verified(verify::verify(cx).await?),
    })
}

/// Runs an operation on a synchronous driver, through the same loop as an
/// asynchronous one: a blocking driver's futures are ready at once, so one
/// poll runs the whole operation.
pub(crate) fn drive<'m>(
    runner: &Runner<'m>,
    operation: Operation,
    driver: &mut impl Driver,
) -> Result<Output<'m>> {
    let mut blocking = Blocking(driver);
    let mut operation = std::pin::pin!(drive_async(runner, operation, &mut blocking));
    match operation
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => result,
        Poll::Pending => unreachable!("a blocking driver never leaves an action pending"),
    }
}

/// A synchronous driver seen as an asynchronous one.
struct Blocking<'d, D>(&'d mut D);

impl<D: Driver> AsyncDriver for Blocking<'_, D> {
    fn dialect(&self) -> Dialect {
        self.0.dialect()
    }

    async fn query(
        &mut self,
        purpose: Purpose,
        statements: &[String],
    ) -> std::result::Result<Vec<Vec<Row>>, Failure> {
        self.0.query(purpose, statements)
    }

    async fn execute(
        &mut self,
        purpose: Purpose,
        pieces: &[Piece],
    ) -> std::result::Result<Executed, Failure> {
        self.0.execute(purpose, pieces)
    }

    async fn sleep(&mut self, pause: Duration) {
        self.0.sleep(pause);
    }

    async fn running(&mut self, request: Running) -> Option<bool> {
        self.0.running(request)
    }
}

/// Runs an operation on an asynchronous driver.
pub(crate) async fn drive_async<'m>(
    runner: &Runner<'m>,
    operation: Operation,
    driver: &mut impl AsyncDriver,
) -> Result<Output<'m>> {
    let started = Instant::now();
    let io = Io::default();
    let task = std::pin::pin!(operate(runner, driver.dialect(), operation, &io));
    let mut engine = Engine::new(&io, task);
    let mut outcome = None;
    loop {
        outcome = Some(match engine.resume(outcome.take()) {
            Step::Done(result) => return timed(result, started),
            Step::Act(Action::Query {
                purpose,
                statements,
            }) => Outcome::Rows(driver.query(purpose, &statements).await),
            Step::Act(Action::Execute { purpose, pieces }) => {
                Outcome::Executed(driver.execute(purpose, &pieces).await)
            }
            Step::Act(Action::Sleep(pause)) => {
                driver.sleep(pause).await;
                Outcome::Slept
            }
            Step::Act(Action::Running(request)) => Outcome::Running(driver.running(request).await),
        });
    }
}

/// Stamps a report with the time the whole operation took, which only the
/// driver loop can measure.
fn timed(result: Result<Output<'_>>, started: Instant) -> Result<Output<'_>> {
    result.map(|output| match output {
        Output::Report(report) => Output::Report(report.with_elapsed(started.elapsed())),
        other => other,
    })
}

/// Adds up to half of `pause` again, so that runners that started together
/// do not retry in lockstep. `seed` varies per runner.
pub(crate) fn with_jitter(pause: Duration, seed: u32) -> Duration {
    let half = u32::try_from(pause.as_micros() / 2)
        .unwrap_or(u32::MAX)
        .max(1);
    pause + Duration::from_micros(u64::from(seed % half))
}
