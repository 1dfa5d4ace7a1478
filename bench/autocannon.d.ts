// autocannon 8 ships no type declarations; the bench only uses its promise API.
declare module 'autocannon' {
  function autocannon(options: Record<string, unknown>): Promise<unknown>;
  export default autocannon;
}
