import { ServiceBusClient } from '@azure/service-bus';
import { startAmqpBroker } from '/work/main/local/amqp-broker';
(async () => {
  const broker = await startAmqpBroker({ queues: [{ name: 'q1' }] });
  const client = new ServiceBusClient(broker.connectionString);
  const sender = client.createSender('q1');
  const N = 5000;
  let t = Date.now();
  let batch = await sender.createMessageBatch();
  for (let i = 0; i < N; i++) {
    const m = { body: { i, pad: 'x'.repeat(200) }, messageId: `m${i}` };
    if (!batch.tryAddMessage(m)) { await sender.sendMessages(batch); batch = await sender.createMessageBatch(); batch.tryAddMessage(m); }
  }
  await sender.sendMessages(batch);
  console.log('batched send', Date.now() - t);
  t = Date.now();
  await Promise.all(Array.from({ length: 500 }, (_, i) => sender.sendMessages({ body: { single: i } })));
  console.log('500 single sends concurrently', Date.now() - t);
  const receiver = client.createReceiver('q1', { receiveMode: 'peekLock', maxAutoLockRenewalDurationInMs: 0 });
  t = Date.now();
  let count = 0;
  await new Promise<void>((resolve, reject) => {
    const sub = receiver.subscribe({
      processMessage: async () => { count++; if (count === N + 500) { resolve(); } },
      processError: async (a) => reject(a.error),
    }, { autoCompleteMessages: true, maxConcurrentCalls: 20 });
    void sub;
  });
  console.log('subscribe received', count, Date.now() - t);
  await new Promise(r => setTimeout(r, 300));
  console.log('left', broker.messages('q1').length);
  // receiveMessages loop
  batch = await sender.createMessageBatch();
  for (let i = 0; i < 2000; i++) batch.tryAddMessage({ body: i }) || console.log('full');
  await sender.sendMessages(batch);
  await receiver.close();
  const r2 = client.createReceiver('q1', { receiveMode: 'peekLock', maxAutoLockRenewalDurationInMs: 0 });
  t = Date.now(); count = 0;
  while (count < 2000) {
    const msgs = await r2.receiveMessages(100, { maxWaitTimeInMs: 1000 });
    count += msgs.length;
    await Promise.all(msgs.map(m => r2.completeMessage(m)));
  }
  console.log('receiveMessages loop', count, Date.now() - t, 'left', broker.messages('q1').length);
  await client.close();
  await broker.stop();
})().catch((e) => { console.error('FAIL', e); process.exit(1); });
