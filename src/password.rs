//! Password hashing with argon2id, off the async executor, in bounded memory.
//!
//! Hashing is CPU- and memory-heavy on purpose. It runs on a fixed set of
//! threads (one per core by default), each owning its argon2 working memory
//! for its whole life, fed by a bounded queue. So resident memory does not
//! grow with sign-in load (threads times 19 MiB, allocated once), a burst of
//! sign-ins never starves the executor, and when more hashes are waiting
//! than the queue holds the caller is told at once ([`PasswordError::Busy`])
//! instead of waiting without limit. Hashes imported from a Django site are
//! checked on the same threads, in their own format ([`django`]), and
//! replaced by argon2id at the first match.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};

use argon2::password_hash::{rand_core::OsRng, Output, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

pub mod django;

/// A PHC-format argon2 hash as stored. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

/// A plaintext password on its way to be hashed or checked. Never printed.
pub struct Password(String);

impl Password {
    pub fn new(plain: impl Into<String>) -> Self {
        Self(plain.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing task failed: {0}")]
    Task(String),
    /// More hashes are waiting than the queue holds: try again shortly.
    #[error("password hashing is busy")]
    Busy,
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub matches: bool,
    /// The stored hash uses other parameters than today's: store a new one.
    pub needs_rehash: bool,
}

/// Cost parameters. The defaults are OWASP's argon2id recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Cost {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// How many hashing threads run, and how many hashes may wait for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub threads: usize,
    pub queue: usize,
}

impl Pool {
    /// One thread per core; up to 32 hashes waiting per thread (a second or
    /// two of work at the default cost).
    pub fn for_cores(cores: usize) -> Self {
        let threads = cores.max(1);
        Self {
            threads,
            queue: threads * 32,
        }
    }
}

enum Work {
    Hash(Password),
    Verify(Password, PasswordHash),
}

enum Done {
    Hashed(PasswordHash),
    Verified(Verified),
}

type Reply = Box<dyn FnOnce(Result<Done, PasswordError>) + Send>;

struct Job {
    work: Work,
    reply: Reply,
}

#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Sender<Job>,
    /// Checked against when the account does not exist, so an unknown
    /// username costs the same time as a wrong password.
    dummy: PasswordHash,
}

impl PasswordHasher {
    /// Starts `pool.threads` hashing threads, each with its working memory,
    /// and computes one hash (on the pool) for the unknown-user path. The
    /// threads end when the last clone of the hasher is dropped.
    pub fn new(cost: Cost, pool: Pool) -> Result<Self, PasswordError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        let (jobs, queue) = bounded::<Job>(pool.queue.max(1));
        for i in 0..pool.threads.max(1) {
            let queue = queue.clone();
            let params = params.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(&params, &queue))
                .map_err(task_error)?;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let mut random = [0u8; 24];
        rand::RngCore::fill_bytes(&mut OsRng, &mut random);
        jobs.send(Job {
            work: Work::Hash(Password::new(format!("{random:?}"))),
            reply: Box::new(move |r| {
                let _ = tx.send(r);
            }),
        })
        .map_err(task_error)?;
        let dummy = match rx.recv().map_err(task_error)?? {
            Done::Hashed(h) => h,
            Done::Verified(_) => return Err(PasswordError::Task("unexpected answer".into())),
        };
        Ok(Self {
            inner: Arc::new(Inner { jobs, dummy }),
        })
    }

    /// Queues `work` and waits for its answer; [`PasswordError::Busy`] at
    /// once when the queue is full. If the caller goes away, the worker
    /// finishes the job and its answer is dropped: nothing leaks.
    async fn run(&self, work: Work) -> Result<Done, PasswordError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job = Job {
            work,
            reply: Box::new(move |r| {
                let _ = tx.send(r);
            }),
        };
        if let Err(e) = self.inner.jobs.try_send(job) {
            return Err(match e {
                TrySendError::Full(_) => PasswordError::Busy,
                TrySendError::Disconnected(_) => {
                    PasswordError::Task("hashing threads ended".into())
                }
            });
        }
        rx.await.map_err(task_error)?
    }

    #[tracing::instrument(skip_all)]
    pub async fn hash(&self, password: Password) -> Result<PasswordHash, PasswordError> {
        match self.run(Work::Hash(password)).await? {
            Done::Hashed(h) => Ok(h),
            Done::Verified(_) => Err(PasswordError::Task("unexpected answer".into())),
        }
    }

    /// Checks `password` against `stored`, or against a dummy hash when
    /// there is no stored hash (unknown user): same cost either way, and
    /// `matches` is then always false.
    #[tracing::instrument(skip_all)]
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<&PasswordHash>,
    ) -> Result<Verified, PasswordError> {
        let known = stored.is_some();
        let stored = stored.unwrap_or(&self.inner.dummy).clone();
        let verified = match self.run(Work::Verify(password, stored)).await? {
            Done::Verified(v) => v,
            Done::Hashed(_) => return Err(PasswordError::Task("unexpected answer".into())),
        };
        Ok(Verified {
            matches: known && verified.matches,
            needs_rehash: known && verified.needs_rehash,
        })
    }
}

/// How long a hashing thread keeps its working memory with no job to do
/// before giving its pages back.
const IDLE_RELEASE: Duration = Duration::from_millis(250);

/// One hashing thread: its memory is allocated once, here, and reused for
/// every job until the queue closes. It runs at a lower CPU priority than
/// the request threads, so a sign-in flood slows sign-ins, not every
/// other request. After [`IDLE_RELEASE`] without a job it gives its
/// memory's pages back to the system (the allocation stays; the pages come
/// back, zeroed, on the next hash): idle, the process is small; under
/// load, even uneven load, nothing is given back or allocated.
// Never inlined: `bench/all --instructions` finds the hashing threads'
// work under this symbol.
#[inline(never)]
fn worker(params: &Params, queue: &Receiver<Job>) {
    lower_priority();
    let mut memory = vec![Block::default(); params.block_count()];
    let mut resident = true;
    loop {
        let next = if resident {
            queue.recv_timeout(IDLE_RELEASE)
        } else {
            queue.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        let job = match next {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                release(&mut memory);
                resident = false;
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        resident = true;
        let result = match job.work {
            Work::Hash(p) => hash_with(params, p.expose(), &mut memory).map(Done::Hashed),
            Work::Verify(p, stored) => {
                verify_with(params, p.expose(), &stored, &mut memory).map(Done::Verified)
            }
        };
        (job.reply)(result);
    }
}

/// Nice 10 for the calling thread (on Linux, `setpriority` with a thread
/// id applies to that thread only).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

/// Gives the pages of `memory` back to the system without freeing the
/// allocation (`MADV_DONTNEED`: they read as zeros when touched again,
/// which argon2 does not mind, as it overwrites every block it uses).
fn release(memory: &mut [Block]) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        let start = memory.as_mut_ptr() as usize;
        let end = start + std::mem::size_of_val(memory);
        let first = start.div_ceil(page) * page;
        let last = end / page * page;
        if last > first {
            // SAFETY: [first, last) lies inside `memory`, which we borrow
            // mutably; Block is plain data, valid as all zeros.
            unsafe {
                libc::madvise(
                    first as *mut libc::c_void,
                    last - first,
                    libc::MADV_DONTNEED,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = memory;
}

fn task_error(e: impl std::fmt::Display) -> PasswordError {
    PasswordError::Task(e.to_string())
}

fn hash_error(e: impl std::fmt::Display) -> PasswordError {
    PasswordError::Hash(e.to_string())
}

/// Hashes into `memory` with today's parameters; the PHC string is stored.
fn hash_with(
    params: &Params,
    password: &str,
    memory: &mut [Block],
) -> Result<PasswordHash, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(hash_error)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, &mut *memory)
        .map_err(hash_error)?;
    let output = Output::new(&out).map_err(hash_error)?;
    let phc = argon2::password_hash::PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(params).map_err(hash_error)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(PasswordHash(phc.to_string()))
}

/// The most memory a stored hash may ask for (256 MiB): a corrupt or hostile
/// row cannot make the server allocate without bound.
const MAX_VERIFY_BLOCKS: usize = 256 * 1024;

/// Checks `password` against a stored PHC hash, with the parameters the
/// hash records, in `memory` when it is large enough (a hash made with more
/// memory than today's, e.g. an imported one, gets its own for the call).
fn verify_with(
    params: &Params,
    password: &str,
    stored: &PasswordHash,
    memory: &mut [Block],
) -> Result<Verified, PasswordError> {
    let mismatch = Verified {
        matches: false,
        needs_rehash: false,
    };
    // Imported from a Django site: checked in its own format, and replaced
    // by today's argon2id at the first match.
    if django::is_django(stored.as_str()) {
        let matches = django::verify(password, stored.as_str()) == Some(true);
        return Ok(Verified {
            matches,
            needs_rehash: matches,
        });
    }
    // A corrupt or foreign stored hash never matches.
    let Ok(parsed) = argon2::password_hash::PasswordHash::new(stored.as_str()) else {
        return Ok(mismatch);
    };
    let (Ok(algorithm), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        parsed.salt,
        parsed.hash,
    ) else {
        return Ok(mismatch);
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return Ok(mismatch),
    };
    // The output length is the stored hash's.
    let Ok(stored_params) = Params::try_from(&parsed) else {
        return Ok(mismatch);
    };
    let needed = stored_params.block_count();
    if needed > MAX_VERIFY_BLOCKS {
        return Ok(mismatch);
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return Ok(mismatch);
    };
    let mut out = vec![0u8; expected.len()];
    let hasher = Argon2::new(algorithm, version, stored_params.clone());
    let computed = if needed <= memory.len() {
        hasher.hash_password_into_with_memory(
            password.as_bytes(),
            salt_bytes,
            &mut out,
            &mut memory[..needed],
        )
    } else {
        hasher.hash_password_into(password.as_bytes(), salt_bytes, &mut out)
    };
    if computed.is_err() {
        return Ok(mismatch);
    }
    // Output's equality is constant-time.
    let matches = Output::new(&out).is_ok_and(|o| o == expected);
    let current = algorithm == Algorithm::Argon2id
        && version == Version::V0x13
        && stored_params.m_cost() == params.m_cost()
        && stored_params.t_cost() == params.t_cost()
        && stored_params.p_cost() == params.p_cost();
    Ok(Verified {
        matches,
        needs_rehash: matches && !current,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(threads: usize) -> Pool {
        Pool { threads, queue: 8 }
    }

    // Small parameters keep unit tests fast; the rules are the same.
    fn cheap() -> Cost {
        Cost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let hasher = PasswordHasher::new(cheap(), small(2)).unwrap();
        let hash = hasher
            .hash(Password::new("correct horse battery"))
            .await
            .unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        let ok = hasher
            .verify(Password::new("correct horse battery"), Some(&hash))
            .await
            .unwrap();
        assert_eq!(
            ok,
            Verified {
                matches: true,
                needs_rehash: false
            }
        );
        let bad = hasher
            .verify(Password::new("wrong"), Some(&hash))
            .await
            .unwrap();
        assert!(!bad.matches);
    }

    #[tokio::test]
    async fn unknown_user_never_matches() {
        let hasher = PasswordHasher::new(cheap(), small(1)).unwrap();
        let v = hasher
            .verify(Password::new("anything"), None)
            .await
            .unwrap();
        assert!(!v.matches);
    }

    #[tokio::test]
    async fn old_parameters_ask_for_rehash() {
        let old = PasswordHasher::new(cheap(), small(1)).unwrap();
        let hash = old
            .hash(Password::new("correct horse battery"))
            .await
            .unwrap();
        let newer = PasswordHasher::new(
            Cost {
                memory_kib: 128,
                ..cheap()
            },
            small(1),
        )
        .unwrap();
        let v = newer
            .verify(Password::new("correct horse battery"), Some(&hash))
            .await
            .unwrap();
        assert_eq!(
            v,
            Verified {
                matches: true,
                needs_rehash: true
            }
        );
    }

    #[tokio::test]
    async fn corrupt_hash_is_a_mismatch_not_an_error() {
        let hasher = PasswordHasher::new(cheap(), small(1)).unwrap();
        let v = hasher
            .verify(
                Password::new("x"),
                Some(&PasswordHash::from_stored("garbage".into())),
            )
            .await
            .unwrap();
        assert!(!v.matches);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_tasks_hash_and_verify_at_once() {
        let hasher = PasswordHasher::new(
            cheap(),
            Pool {
                threads: 2,
                queue: 64,
            },
        )
        .unwrap();
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let hasher = hasher.clone();
                tokio::spawn(async move {
                    let password = format!("password number {i}");
                    let hash = hasher.hash(Password::new(password.clone())).await.unwrap();
                    let right = hasher
                        .verify(Password::new(password), Some(&hash))
                        .await
                        .unwrap();
                    let wrong = hasher
                        .verify(Password::new("something else"), Some(&hash))
                        .await
                        .unwrap();
                    (right.matches, wrong.matches)
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), (true, false));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_answers_busy_at_once_and_dropped_requests_leak_nothing() {
        // Costly enough that the queue fills while the first hash runs.
        let slow = Cost {
            memory_kib: 8 * 1024,
            iterations: 3,
            parallelism: 1,
        };
        let hasher = PasswordHasher::new(
            slow,
            Pool {
                threads: 1,
                queue: 2,
            },
        )
        .unwrap();
        let calls: Vec<_> = (0..12)
            .map(|_| {
                let hasher = hasher.clone();
                tokio::spawn(
                    async move { hasher.hash(Password::new("correct horse battery")).await },
                )
            })
            .collect();
        let mut busy = 0;
        let mut done = 0;
        for call in calls {
            match call.await.unwrap() {
                Ok(_) => done += 1,
                Err(PasswordError::Busy) => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(busy > 0, "nothing was refused");
        assert!(
            (1..=3 + 1).contains(&done),
            "{done} hashed with 1 thread and 2 places"
        );
        // Callers that give up do not take the worker with them: it finishes
        // their jobs, drops the answers and serves the next caller.
        for _ in 0..3 {
            let hasher = hasher.clone();
            let call = tokio::spawn(async move { hasher.hash(Password::new("abandoned")).await });
            call.abort();
        }
        let mut answered = None;
        for _ in 0..200 {
            match hasher.hash(Password::new("after abandonment")).await {
                Ok(h) => {
                    answered = Some(h);
                    break;
                }
                Err(PasswordError::Busy) => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(answered.is_some(), "the worker never came back");
    }

    #[test]
    fn default_cost_is_owasp() {
        assert_eq!(
            Cost::default(),
            Cost {
                memory_kib: 19456,
                iterations: 2,
                parallelism: 1
            }
        );
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(
            format!("{:?}", Password::new("hunter2hunter2")),
            "Password(..)"
        );
        assert_eq!(
            format!("{:?}", PasswordHash::from_stored("$argon2id$x".into())),
            "PasswordHash(..)"
        );
    }
}
