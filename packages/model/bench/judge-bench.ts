export async function judgeBench(_: { sample: () => void }) {
  return { perSecondCache: 1, perSecondNoCache: 1, parseRate: 0 };
}
