// The ceiling: a Worker that answers every request with a fixed body.
const body = JSON.stringify({ path: "/static", n: 1 });
export default {
  fetch() {
    return new Response(body, { headers: { "content-type": "application/json" } });
  },
};
