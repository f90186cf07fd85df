use agent_events::Run;

#[derive(Debug)]
struct Opaque;

type Lookup<T> = Result<T, Opaque>;

// The error type is decided from the real type, through the alias: it must be `Display`.
#[agent_events::tool]
fn lookup(run: &Run, key: &str) -> Lookup<u32> {
    let _ = run;
    if key.is_empty() {
        return Err(Opaque);
    }
    Ok(1)
}


// The same with `err`.
#[agent_events::tool(err)]
fn lookup_err(run: &Run, key: &str) -> Lookup<u32> {
    let _ = run;
    if key.is_empty() {
        return Err(Opaque);
    }
    Ok(1)
}

struct NoDebug;

// With `debug`, the error is sent with `Debug`: it must be `Debug`.
#[agent_events::run(debug)]
fn answer(run: Run) -> Result<u32, NoDebug> {
    drop(run);
    Err(NoDebug)
}
fn main() {}
