// « Reprendre dans … » (essaimage): on a public, published action of
// another territory, an organiser takes it up into one of the territories
// they organise on this device, from a start date. sync-core makes the
// draft (what is copied, the rhythm from the first matching date, where it
// comes from); this screen picks the territory and the date, then opens
// the draft. Works offline: the target is on the device, and the action
// either is too (its territory held here: `Driver.essaimer`) or was kept
// when its public page was seen in the app (`action-publique.tsx`,
// `Driver.essaimerPublique`).
//
// Does not: publish the draft (its organisers do, on its edit screen).

import { useEffect, useState } from "preact/hooks";
import type { Driver } from "../driver";
import { allerA, ChampDate } from "../formulaire";
import { Icone } from "../icones";
import { aujourdhui, idAleatoire, messageDe } from "../modele";
import type { TerritoireConnu } from "../storage";

/** How long to wait for a territory to load from this device's storage. */
const CHARGEMENT = 10_000;

/** Resolves once `doc` is loaded, or fails after `CHARGEMENT` ms. */
export function charge(driver: Driver, doc: string): Promise<void> {
  driver.openDocument(doc);
  return new Promise((resolve, reject) => {
    if (driver.hasDocument(doc)) return resolve();
    const fin = setTimeout(() => {
      arreter();
      reject(new Error("Ce territoire n'est pas encore chargé sur cet appareil\u00a0: réessayez dans un instant."));
    }, CHARGEMENT);
    const arreter = driver.subscribe(() => {
      if (!driver.hasDocument(doc)) return;
      clearTimeout(fin);
      arreter();
      resolve();
    });
  });
}

/**
 * `source` is the action's territory (never a target); the action is
 * `action` of it when this device holds it, else `publique`, the JSON of
 * its `ActionPublique` as the relay served it.
 */
/** The territories this device organises, to take something up into. */
export function ChoixTerritoire(props: {
  id: string;
  cibles: TerritoireConnu[];
  cible: string;
  onChoix: (doc: string) => void;
}) {
  return (
    <p class="champ">
      <label for={props.id}>Territoire</label>
      <select id={props.id} value={props.cible} onChange={(e) => props.onChoix(e.currentTarget.value)}>
        {props.cibles.map((t) => (
          <option key={t.doc} value={t.doc}>
            {t.nom || "Territoire sans nom"}
          </option>
        ))}
      </select>
    </p>
  );
}

export function Reprendre({
  driver,
  source,
  action,
  publique,
}: {
  driver: Driver;
  source: string;
  action?: string;
  publique?: string;
}) {
  const [cibles, setCibles] = useState<TerritoireConnu[]>([]);
  const [ouvert, setOuvert] = useState(false);
  const [cible, setCible] = useState("");
  const [date, setDate] = useState(aujourdhui());
  const [erreur, setErreur] = useState<string>();
  useEffect(() => {
    driver.storage.territoires().then((ts) => {
      const miens = ts.filter((t) => t.doc !== source && !t.demonstration && driver.peutModifier(t.doc));
      setCibles(miens);
      setCible(miens[0]?.doc ?? "");
    });
  }, [driver, source]);
  if (cibles.length === 0) return null;

  const reprendre = async (event: Event) => {
    event.preventDefault();
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return setErreur("Indiquez la date du premier rendez-vous (jj/mm/aaaa).");
    const nouvel = idAleatoire();
    try {
      await charge(driver, cible);
      if (action !== undefined) driver.essaimer(source, action, cible, nouvel, date);
      else if (publique !== undefined) driver.essaimerPublique(publique, cible, nouvel, date);
    } catch (e) {
      return setErreur(messageDe(e));
    }
    allerA(`#/territoire/${cible}/action/${nouvel}`);
  };

  return (
    <section class="carte" aria-labelledby="titre-reprendre" data-testid="reprendre">
      <h2 id="titre-reprendre">Reprendre dans un de vos territoires</h2>
      {!ouvert ? (
        <button type="button" class="secondaire" onClick={() => setOuvert(true)}>
          <Icone nom="plus" /> Reprendre dans…
        </button>
      ) : (
        <form onSubmit={reprendre} noValidate>
          <p class="aide">
            Un brouillon dans le territoire choisi&nbsp;: le titre, la présentation, les thèmes et le rythme, à partir de la
            date indiquée. Ni le lieu, ni les porteurs, ni les besoins ne sont repris.
          </p>
          <ChoixTerritoire id="cible-reprendre" cibles={cibles} cible={cible} onChoix={setCible} />
          <ChampDate id="date-reprendre" label="À partir du" valeur={date} onDate={setDate} />
          {erreur && (
            <p role="alert" class="erreur">
              {erreur}
            </p>
          )}
          <p class="actions">
            <button type="submit">Reprendre ce rendez-vous</button>
          </p>
        </form>
      )}
    </section>
  );
}
