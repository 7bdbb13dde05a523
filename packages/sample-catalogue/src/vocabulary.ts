/** Word lists of the synthetic catalogue. Small on purpose; combinations make titles unique. */

/** Category tree: top > mid > leaf, each leaf with the product nouns that belong there. */
export const CATEGORY_TREE: Record<string, Record<string, Record<string, string[]>>> = {
  Clothing: {
    Men: { Shirts: ['shirt', 'polo', 'oxford shirt', 'flannel shirt'], Trousers: ['chinos', 'jeans', 'cargo pants', 'joggers'], Jackets: ['bomber jacket', 'parka', 'windbreaker', 'blazer'] },
    Women: { Dresses: ['dress', 'maxi dress', 'wrap dress', 'sundress'], Tops: ['blouse', 'tank top', 'tee', 'cardigan'], Skirts: ['skirt', 'pleated skirt', 'midi skirt'] },
    Kids: { Sets: ['pajama set', 'romper', 'tracksuit'], Shoes: ['sneakers', 'sandals', 'rain boots'] },
  },
  Electronics: {
    Audio: { Headphones: ['headphones', 'earbuds', 'headset'], Speakers: ['bluetooth speaker', 'soundbar', 'smart speaker'] },
    Computers: { Laptops: ['laptop', 'ultrabook', 'gaming laptop'], Accessories: ['usb-c hub', 'keyboard', 'mouse', 'monitor stand', 'webcam'] },
    Phones: { Smartphones: ['smartphone', 'phone'], Cases: ['phone case', 'screen protector', 'charger', 'power bank'] },
  },
  Home: {
    Kitchen: { Cookware: ['frying pan', 'saucepan', 'wok', 'dutch oven'], Appliances: ['blender', 'kettle', 'toaster', 'air fryer', 'rice cooker'] },
    Furniture: { Chairs: ['office chair', 'dining chair', 'armchair'], Tables: ['coffee table', 'desk', 'side table'] },
    Bedding: { Sheets: ['sheet set', 'duvet cover', 'pillowcase'], Pillows: ['pillow', 'memory foam pillow'] },
  },
  Sports: {
    Fitness: { Equipment: ['yoga mat', 'dumbbell set', 'resistance bands', 'kettlebell'], Apparel: ['running shorts', 'sports bra', 'compression tights'] },
    Outdoor: { Camping: ['tent', 'sleeping bag', 'camping stove', 'headlamp'], Cycling: ['bike helmet', 'bike light', 'cycling gloves'] },
  },
  Beauty: {
    Skincare: { Face: ['face cream', 'serum', 'cleanser', 'sunscreen'], Body: ['body lotion', 'hand cream', 'body wash'] },
    Makeup: { Lips: ['lipstick', 'lip gloss', 'lip balm'], Eyes: ['mascara', 'eyeliner', 'eyeshadow palette'] },
  },
};

export const ADJECTIVES = ['classic', 'slim fit', 'premium', 'lightweight', 'waterproof', 'vintage', 'organic', 'wireless', 'portable', 'compact', 'oversized', 'ergonomic', 'breathable', 'heavy duty', 'eco friendly', 'ultra soft', 'professional', 'non-stick', 'quick dry', 'foldable', 'adjustable', 'deluxe', 'essential', 'everyday', 'limited edition'];
export const COLORS = ['black', 'white', 'navy', 'grey', 'red', 'blue', 'green', 'beige', 'pink', 'olive', 'burgundy', 'charcoal', 'cream', 'teal', 'mustard', 'lavender'];
export const MATERIALS = ['cotton', 'linen', 'wool', 'leather', 'stainless steel', 'aluminium', 'bamboo', 'silicone', 'polyester', 'cashmere', 'ceramic', 'oak', 'recycled plastic', 'denim', 'silk'];
export const SIZES = ['XS', 'S', 'M', 'L', 'XL', 'XXL', '2-pack', '3-pack', '500ml', '1L', '12 inch', '15.6"', '256GB', '1TB'];

/** Syllables that brand names are built from (deterministically, by rank). */
export const BRAND_SYLLABLES = ['ka', 'lo', 'mi', 'ra', 'zen', 'vo', 'tek', 'nu', 'sol', 'ari', 'bel', 'cor', 'dex', 'fin', 'gro', 'hal', 'ion', 'jun', 'kor', 'lum', 'mar', 'nov', 'orb', 'pix', 'qua', 'ryn', 'sky', 'tor', 'umi', 'vex'];

/** CJK titles: Chinese product words and modifiers, plus Japanese for variety. */
export const CJK_NOUNS = ['连衣裙', '衬衫', '运动鞋', '蓝牙耳机', '保温杯', '电饭煲', '双肩包', '羽绒服', '机械键盘', '面霜', '瑜伽垫', '手机壳', 'スニーカー', 'ワンピース', '炊飯器'];
export const CJK_MODIFIERS = ['夏季', '新款', '纯棉', '男士', '女士', '加厚', '无线', '大容量', '防水', '轻薄', '正品', '限定'];
export const CJK_COLORS = ['红色', '黑色', '白色', '蓝色', '粉色', '灰色'];
