/* The workspace's storage on the device: IndexedDB database `trace-workspace`.
 *
 *   device  one record under the key "current": the enrolled device, with its non-extractable CryptoKeyPair
 *   queue   signed statements waiting to be submitted or already settled, in signing order (auto-increment id)
 *   cache   what the device last saw of the ledger, for offline drafting: "author" (next seq and prev),
 *           "holdings", "shipments" (incoming, open) and "batches" (ref → state with its head)
 *
 * CryptoKey objects are stored as they are (structured clone): the browser keeps the private key material and
 * never hands it to a script, because the key was generated with extractable = false.
 */

const NAME = "trace-workspace";
const VERSION = 1;
let opening = null;

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export function openDatabase() {
  if (!opening) {
    const request = indexedDB.open(NAME, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("device")) db.createObjectStore("device");
      if (!db.objectStoreNames.contains("queue")) db.createObjectStore("queue", { keyPath: "id", autoIncrement: true });
      if (!db.objectStoreNames.contains("cache")) db.createObjectStore("cache");
    };
    opening = promised(request);
  }
  return opening;
}

async function run(storeName, mode, action) {
  const db = await openDatabase();
  const transaction = db.transaction(storeName, mode);
  const done = new Promise((resolve, reject) => {
    transaction.oncomplete = resolve;
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
  const result = promised(action(transaction.objectStore(storeName)));
  await done;  // resolved only once the change is durable
  return result;
}

export const getValue = (store, key) => run(store, "readonly", (objects) => objects.get(key));
export const putValue = (store, key, value) => run(store, "readwrite", (objects) => objects.put(value, key));
export const deleteValue = (store, key) => run(store, "readwrite", (objects) => objects.delete(key));
export const clearStore = (store) => run(store, "readwrite", (objects) => objects.clear());

/** Every queue item, oldest first. */
export const allItems = () => run("queue", "readonly", (objects) => objects.getAll());
/** Adds an item (without id); resolves to its new id. */
export const addItem = (item) => run("queue", "readwrite", (objects) => objects.add(item));
export const putItem = (item) => run("queue", "readwrite", (objects) => objects.put(item));
export const deleteItem = (id) => run("queue", "readwrite", (objects) => objects.delete(id));
