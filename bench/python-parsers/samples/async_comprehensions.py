# Python 3.6+: PEP 530, asynchronous comprehensions and `await` in comprehensions.
async def collect(source):
    squares = [x * x async for x in source]
    mapping = {k: v async for k, v in source}
    awaited = [await fn() for fn in source]
    filtered = (x async for x in source if await x)
    return squares, mapping, awaited, filtered
